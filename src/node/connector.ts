/**
 * How a volume's block device gets onto this node. One interface, two implementations: nvme-tcp (production,
 * `nvme connect` to RDS) and loop (all-in-one and tests: losetup on the simulator's backing file). Devices are
 * resolved from the NQN on every call; a /dev name is never remembered, because it changes after a reconnect.
 */
import { Failure } from '../domain/failure';

export interface BlockDevice {
  /** Kernel name, e.g. nvme3n1 or loop4. */
  name: string;
  /** Path of the device node, `<devRoot>/<name>`. */
  path: string;
  major: number;
  minor: number;
  sizeBytes: number;
}

export interface ConnectParams {
  ctrlLossTmo: number;
  reconnectDelay: number;
  keepAliveTmo: number;
  fastIoFailTmo?: number;
}

export interface VolumeTarget {
  /** The CSI id (`<slot>` or `<slot>@<backend>`), for messages. */
  volumeId: string;
  /** The RouterOS slot: the NQN's last part and the name of everything on the host (validate.ts NodeVolume). */
  slot: string;
  nqn: string;
  /** Absent only where the connector does not use the network (loop). */
  address?: string;
  port?: number;
  params: ConnectParams;
}

/** A connection under the managed NQN prefix, with its device if it has one right now. */
export interface ManagedConnection {
  nqn: string;
  device?: BlockDevice;
}

/**
 * Who a block device number belongs to right now, read from sysfs: 'gone' when no block device has the numbers
 * (e.g. the namespace behind a mount that survived a disconnect); otherwise its kernel name and, when the
 * connector can tie it to one, the NQN it serves (nvme: the subsystem listing it; loop: the volume of its backing file).
 */
export type DeviceOwner = { kind: 'gone' } | { kind: 'live'; name: string; nqn?: string };

export interface Connector {
  readonly kind: 'nvme-tcp' | 'loop';
  /** Kernel names of the block devices this connector makes (nvme0n1 / loop3): what a mount source of ours looks like. */
  readonly deviceName: RegExp;
  /** The owner of block device major:minor right now (never a remembered name). */
  deviceOwner(major: number, minor: number): Promise<DeviceOwner>;
  /** Connect unless already connected ("already connected" is success) and wait for a non-zero-size device. */
  attach(target: VolumeTarget, deadline: number): Promise<BlockDevice>;
  /** The NQN's device right now, or undefined. */
  find(nqn: string): Promise<BlockDevice | undefined>;
  /** Disconnect; refuses any NQN outside the managed prefix. Disconnecting what is not connected is success. */
  detach(nqn: string): Promise<void>;
  /** Connections under the managed prefix (and only those). */
  listManaged(): Promise<ManagedConnection[]>;
  /** Make the kernel re-read the namespace size after a controller-side expansion. */
  rescan(nqn: string): Promise<void>;
  /**
   * The state of the transport to the NQN's target: 'live' when I/O flows; otherwise what the kernel says
   * (e.g. 'connecting' or 'resetting' during a target outage); undefined when not connected.
   */
  linkState(nqn: string): Promise<string | undefined>;
}

/** `<prefix>:<id>` is managed; `<prefix>x:<id>` or `<prefix>` alone are not (component match, not string prefix). */
export function isManagedNqn(nqnPrefix: string, nqn: string): boolean {
  return nqn.startsWith(`${nqnPrefix}:`) && nqn.length > nqnPrefix.length + 1;
}

export function volumeIdOfNqn(nqnPrefix: string, nqn: string): string | undefined {
  if (!isManagedNqn(nqnPrefix, nqn)) return undefined;
  const rest = nqn.slice(nqnPrefix.length + 1);
  return /^[a-z0-9][a-z0-9-]*$/.test(rest) ? rest : undefined;
}

/** An error of the host (tool failure, device that never appeared) with a message safe to answer with. */
export type HostFailureKind = 'unavailable' | 'precondition' | 'not-found' | 'internal';

export class HostError extends Failure {
  constructor(message: string, kind: HostFailureKind = 'internal') {
    super(kind, message);
    this.name = 'HostError';
  }
}
