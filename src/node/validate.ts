import path from 'node:path';
import { splitId } from '../domain/backend-id';
import { nqnFor } from '../domain/ids';
import type { VolumeCapability__Output } from '../generated/csi/v1/VolumeCapability';
import { accessModeOf as checkAccessMode } from '../grpc/enums';
import { invalid, notFound } from '../domain/failure';
import type { ConnectDefaults } from '../config/schema';
import { parseMkfsOptions } from '../domain/fs-options';
import type { ConnectParams, VolumeTarget } from './connector';
import { checkMountFlags, DEFAULT_FS, type FsType, isSupportedFs } from './filesystem';

/**
 * Request checks of the Node service: everything wrong with a request is answered INVALID_ARGUMENT before any
 * host action. Connect parameters come from the config defaults, overridden by volume_context, overridden by
 * publish_context, each validated.
 */

/**
 * `singleWriter`: the access mode is SINGLE_NODE_SINGLE_WRITER (Kubernetes ReadWriteOncePod): published at one target
 * path of this node at a time (single-writer.ts).
 */
export type Capability =
  | { kind: 'block'; readOnlyMode: boolean; singleWriter: boolean }
  | { kind: 'mount'; fsType: FsType | ''; flags: string[]; readOnlyMode: boolean; singleWriter: boolean };

/**
 * A volume id as the node uses it (issue 16, src/domain/backend-id.ts): `id` as the request gave it (messages, the
 * backend check), `slot` for everything on the host. The NQN (`<nqnPrefix>:<slot>`), the loop connector's file, the
 * LUKS2 mapping name and the per-volume lock are the slot's on every backend, so attribution (ownership.ts) compares
 * against what the kernel shows for that slot, and the orphan cleaner (which knows only NQNs) locks the same key.
 */
export interface NodeVolume {
  id: string;
  slot: string;
  /** Undefined: the primary (a bare slot). */
  backend?: string;
}

export function requireVolumeId(id: string): NodeVolume {
  if (!id) throw invalid('volume_id is required');
  const placed = id.length > 128 ? undefined : splitId(id);
  if (!placed || !/^[a-z0-9][a-z0-9-]*$/.test(placed.slot))
    throw invalid(`volume_id ${JSON.stringify(id.slice(0, 130))} is not a volume id of this driver`);
  return { id, ...placed };
}

/** Linux limits (limits.h): NAME_MAX bytes per component, PATH_MAX bytes in all (with the NUL). */
const NAME_MAX = 255;
const PATH_MAX = 4096;

/**
 * What no path on Linux can be: a NUL byte, a component over NAME_MAX bytes, more than PATH_MAX bytes. Checked
 * before any syscall, so the kernel's ENAMETOOLONG never reaches a handler as an unexplained INTERNAL.
 */
function checkPathShape(name: string, p: string): void {
  if (p.includes('\0')) throw invalid(`${name} contains a NUL byte`);
  if (Buffer.byteLength(p) >= PATH_MAX) throw invalid(`${name} is longer than ${PATH_MAX - 1} bytes`);
  const long = p.split('/').find((c) => Buffer.byteLength(c) > NAME_MAX);
  if (long !== undefined)
    throw invalid(
      `${name} has a component of ${Buffer.byteLength(long)} bytes; at most ${NAME_MAX} are allowed: ${JSON.stringify(long.slice(0, 40))}…`,
    );
}

export function requirePath(name: string, p: string): string {
  if (!p) throw invalid(`${name} is required`);
  checkPathShape(name, p);
  if (!path.isAbsolute(p) || p.split('/').includes('..'))
    throw invalid(`${name} must be an absolute path without "..": ${JSON.stringify(p.slice(0, 200))}`);
  return path.normalize(p).replace(/(.)\/+$/, '$1');
}

/**
 * volume_path of NodeGetVolumeStats / NodeExpandVolume. The spec's rows for these RPCs answer NOT_FOUND when the
 * volume is not at the path; a relative path (conformance tooling sends `some/path`) or one with ".." names no
 * place the driver publishes a volume, so it is NOT_FOUND as well. INVALID_ARGUMENT stays for an empty path and
 * for what cannot be a path at all (NUL, over-long component).
 */
export function requireVolumePath(name: string, p: string): string {
  if (!p) throw invalid(`${name} is required`);
  checkPathShape(name, p);
  if (!path.isAbsolute(p) || p.split('/').includes('..'))
    throw notFound(`no volume at ${name} ${JSON.stringify(p.slice(0, 200))}: the driver publishes volumes only at absolute paths`);
  return path.normalize(p).replace(/(.)\/+$/, '$1');
}

/** The access mode as a member of the CSI enum; anything else (UNKNOWN, a number the enum does not define) is refused. */
export function accessModeOf(cap: VolumeCapability__Output, optional = false): string | undefined {
  const m = checkAccessMode(cap.accessMode); // a closed set: a number the CSI enum does not define is refused
  if (m.kind === 'invalid') throw invalid(`volume_capability.${m.problem}`);
  if (m.kind === 'unset') {
    if (optional) return undefined;
    throw invalid('volume_capability.access_mode is required');
  }
  return m.mode;
}

export function parseCapability(cap: VolumeCapability__Output | null | undefined): Capability {
  if (!cap) throw invalid('volume_capability is required');
  const mode = cap.accessMode ? accessModeOf(cap) : undefined;
  if (mode === undefined) throw invalid('volume_capability.access_mode is required');
  const readOnlyMode = mode === 'SINGLE_NODE_READER_ONLY' || mode === 'MULTI_NODE_READER_ONLY';
  const singleWriter = mode === 'SINGLE_NODE_SINGLE_WRITER';
  if (cap.block) return { kind: 'block', readOnlyMode, singleWriter };
  if (!cap.mount) throw invalid('volume_capability needs block or mount');
  if (mode === 'MULTI_NODE_MULTI_WRITER' || mode === 'MULTI_NODE_SINGLE_WRITER')
    throw invalid(`access mode ${mode} is only supported for block volumes (ext4/xfs are single-node file systems)`);
  const fsType = cap.mount.fsType || '';
  if (fsType && !isSupportedFs(fsType)) throw invalid(`fs_type ${fsType} is not supported (ext4, xfs)`);
  const checked = checkMountFlags(cap.mount.mountFlags ?? []);
  if (checked.error) throw invalid(checked.error);
  return { kind: 'mount', fsType: fsType as FsType | '', flags: checked.flags, readOnlyMode, singleWriter };
}

/**
 * volume_context.mkfsOptions (the StorageClass parameter CreateVolume checked) as argv for mkfs of the file system the
 * capability formats, checked again here against the same allow-list (src/domain/fs-options.ts): a PV can be written
 * by hand. Block volumes are never formatted: no arguments.
 */
export function mkfsArgsOf(volumeContext: Record<string, string>, cap: Capability): string[] {
  if (cap.kind !== 'mount') return [];
  const fs = fsTypeOf(cap);
  const parsed = parseMkfsOptions(fs, volumeContext.mkfsOptions);
  if ('problem' in parsed) throw invalid(`volume_context.mkfsOptions ${parsed.problem}`);
  return parsed.args;
}

export function fsTypeOf(cap: Capability): FsType {
  return cap.kind === 'mount' && cap.fsType ? cap.fsType : DEFAULT_FS;
}

const PARAM_KEYS: Array<[keyof ConnectParams, string, number, number]> = [
  ['ctrlLossTmo', 'ctrlLossTmo', -1, 1_000_000],
  ['reconnectDelay', 'reconnectDelay', 1, 3600],
  ['keepAliveTmo', 'keepAliveTmo', 1, 3600],
  ['fastIoFailTmo', 'fastIoFailTmo', -1, 3600],
];

export function connectParams(defaults: ConnectDefaults, ...contexts: Array<Record<string, string> | undefined>): ConnectParams {
  const out: ConnectParams = { ...defaults };
  for (const ctx of contexts) {
    if (!ctx) continue;
    for (const [field, key, min, max] of PARAM_KEYS) {
      const raw = ctx[key];
      if (raw === undefined || raw === '') continue;
      if (!/^-?\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
        throw invalid(`${key}=${JSON.stringify(raw)} must be an integer from ${min} to ${max}`);
      out[field] = Number(raw);
    }
  }
  return out;
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^[0-9a-fA-F:.]+$/;

/** The target from volume_context: the NQN must be this volume's NQN under the managed prefix. */
export function volumeTarget(
  volume: NodeVolume,
  nqnPrefix: string,
  defaults: ConnectDefaults,
  volumeContext: Record<string, string>,
  publishContext: Record<string, string>,
  needAddress: boolean,
): VolumeTarget {
  const nqn = volumeContext.nqn;
  if (!nqn) throw invalid('volume_context.nqn is required (it is set by the controller)');
  const volumeId = volume.id;
  // The slot's NQN whatever the backend (src/domain/backend-id.ts): `<prefix>:<slot>`, never `<prefix>:<slot>@<b>`.
  if (nqn !== nqnFor(nqnPrefix, volume.slot)) throw invalid(`volume_context.nqn ${nqn} is not the NQN of volume ${volumeId} under ${nqnPrefix}`);
  const address = publishContext.targetAddress || volumeContext.targetAddress;
  const portRaw = publishContext.targetPort || volumeContext.targetPort;
  if (needAddress && !address) throw invalid('volume_context.targetAddress is required');
  if (address && (address.length > 253 || !HOST.test(address)))
    throw invalid(`targetAddress ${JSON.stringify(address)} is not a host name or IP address`);
  let port: number | undefined;
  if (portRaw !== undefined && portRaw !== '') {
    port = Number(portRaw);
    if (!/^\d+$/.test(portRaw) || port < 1 || port > 65535) throw invalid(`targetPort ${JSON.stringify(portRaw)} must be 1-65535`);
  } else if (needAddress) port = 4420;
  return { volumeId, slot: volume.slot, nqn, address, port, params: connectParams(defaults, volumeContext, publishContext) };
}

/** volume_context.accessType, when present, must match the capability. */
export function checkAccessType(volumeContext: Record<string, string>, cap: Capability): void {
  const at = volumeContext.accessType;
  if (at && at !== cap.kind) throw invalid(`volume was created for ${at} access but the capability asks for ${cap.kind}`);
}
