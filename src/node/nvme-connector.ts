import type { HostPort } from '../host/port';
import { describeResult, ok } from '../host/run';
import { type BlockDevice, type Connector, type DeviceOwner, HostError, type ManagedConnection, type VolumeTarget, isManagedNqn } from './connector';
import { blockDeviceOf, blockNameOf, waitForDevice } from './device';
import { existingDevices, nvmeSubsystem, nvmeSubsystems } from './nvme-sysfs';

/**
 * Production connector: the kernel's NVMe/TCP initiator through nvme-cli.
 *
 * attach: when sysfs already shows a controller for the NQN (live, or reconnecting under ctrl_loss_tmo −1) no
 * second connect is made — a duplicate would add a path, and "already connected" is success anyway; otherwise
 * `nvme connect -t tcp` with the node's host NQN and the validated timeouts. Then wait, with the call's deadline,
 * for a non-zero-size device resolved by NQN. detach refuses every NQN outside the managed prefix.
 */

export interface NvmeConnectorOptions {
  host: HostPort;
  nqnPrefix: string;
  hostNqn: string;
  nvmeCommand: string;
  toolTimeoutMs: number;
}

export class NvmeTcpConnector implements Connector {
  readonly kind = 'nvme-tcp' as const;
  readonly deviceName = /^nvme\d+n\d+$/;

  constructor(private readonly o: NvmeConnectorOptions) {}

  private async deviceOf(names: string[]): Promise<BlockDevice | undefined> {
    for (const name of await existingDevices(this.o.host.sysfs, names)) {
      const dev = await blockDeviceOf(this.o.host.sysfs, this.o.host.devRoot, name);
      if (dev) return dev;
    }
    return undefined;
  }

  async find(nqn: string): Promise<BlockDevice | undefined> {
    const sub = await nvmeSubsystem(this.o.host.sysfs, nqn);
    return sub ? this.deviceOf(sub.devices) : undefined;
  }

  async deviceOwner(major: number, minor: number): Promise<DeviceOwner> {
    const name = await blockNameOf(this.o.host.sysfs, major, minor);
    if (!name) return { kind: 'gone' };
    const sub = (await nvmeSubsystems(this.o.host.sysfs)).find((s) => s.devices.includes(name));
    return { kind: 'live', name, nqn: sub?.nqn };
  }

  connectArgs(t: VolumeTarget): string[] {
    if (!t.address || !t.port) throw new HostError(`volume ${t.volumeId}: no NVMe/TCP target address and port`, 'precondition');
    const args = ['connect', '-t', 'tcp', '-a', t.address, '-s', String(t.port), '-n', t.nqn, `--hostnqn=${this.o.hostNqn}`];
    args.push(`--ctrl-loss-tmo=${t.params.ctrlLossTmo}`, `--reconnect-delay=${t.params.reconnectDelay}`, `--keep-alive-tmo=${t.params.keepAliveTmo}`);
    // fast_io_fail_tmo is set through sysfs after the connect (setFastIoFail): nvme-cli 2.3 (Debian bookworm) has
    // no option for it and would refuse the whole connect.
    return args;
  }

  async attach(t: VolumeTarget, deadline: number): Promise<BlockDevice> {
    if (!isManagedNqn(this.o.nqnPrefix, t.nqn))
      throw new HostError(`NQN ${t.nqn} is not under the managed prefix ${this.o.nqnPrefix}`, 'precondition');
    const existing = await nvmeSubsystem(this.o.host.sysfs, t.nqn);
    if (!existing || existing.controllers.length === 0) {
      const timeoutMs = Math.max(1000, Math.min(this.o.toolTimeoutMs, deadline - Date.now()));
      const r = await this.o.host.run(this.o.nvmeCommand, this.connectArgs(t), { timeoutMs });
      if (!ok(r)) {
        const again = await nvmeSubsystem(this.o.host.sysfs, t.nqn);
        const already = /already connected/i.test(r.stderr + r.stdout);
        if (!already && !again?.controllers.length) throw new HostError(`nvme connect for ${t.nqn} failed: ${describeResult(r)}`, 'unavailable');
      }
    }
    if (t.params.fastIoFailTmo !== undefined) await this.setFastIoFail(t.nqn, t.params.fastIoFailTmo);
    return waitForDevice(() => this.find(t.nqn), deadline, `NQN ${t.nqn}`);
  }

  /** The kernel's per-controller attribute (−1 = off); every path of the subsystem gets it. */
  private async setFastIoFail(nqn: string, seconds: number): Promise<void> {
    const sub = await nvmeSubsystem(this.o.host.sysfs, nqn);
    for (const c of sub?.controllers ?? []) {
      try {
        await this.o.host.sysfs.write(seconds < 0 ? 'off' : String(seconds), 'class', 'nvme', c.name, 'fast_io_fail_tmo');
      } catch (err) {
        throw new HostError(
          `cannot set fast_io_fail_tmo=${seconds} on ${c.name} (${(err as Error).message}); this kernel may not support it: remove the setting`,
          'precondition',
        );
      }
    }
  }

  async detach(nqn: string): Promise<void> {
    if (!isManagedNqn(this.o.nqnPrefix, nqn))
      throw new HostError(`refusing to disconnect ${nqn}: not under the managed prefix ${this.o.nqnPrefix}`, 'precondition');
    const sub = await nvmeSubsystem(this.o.host.sysfs, nqn);
    if (!sub || sub.controllers.length === 0) return;
    const r = await this.o.host.run(this.o.nvmeCommand, ['disconnect', '-n', nqn], { timeoutMs: this.o.toolTimeoutMs });
    if (!ok(r)) throw new HostError(`nvme disconnect of ${nqn} failed: ${describeResult(r)}`, 'unavailable');
  }

  async listManaged(): Promise<ManagedConnection[]> {
    const out: ManagedConnection[] = [];
    for (const s of await nvmeSubsystems(this.o.host.sysfs)) {
      if (!isManagedNqn(this.o.nqnPrefix, s.nqn) || s.controllers.length === 0) continue;
      out.push({ nqn: s.nqn, device: await this.deviceOf(s.devices) });
    }
    return out;
  }

  async linkState(nqn: string): Promise<string | undefined> {
    const sub = await nvmeSubsystem(this.o.host.sysfs, nqn);
    if (!sub || sub.controllers.length === 0) return undefined;
    return sub.controllers.some((c) => c.state === 'live') ? 'live' : (sub.controllers[0].state ?? 'unknown');
  }

  async rescan(nqn: string): Promise<void> {
    const sub = await nvmeSubsystem(this.o.host.sysfs, nqn);
    const ctrl = sub?.controllers.find((c) => c.state === 'live') ?? sub?.controllers[0];
    if (!ctrl) throw new HostError(`NQN ${nqn} is not connected on this node`, 'precondition');
    const r = await this.o.host.run(this.o.nvmeCommand, ['ns-rescan', `${this.o.host.devRoot}/${ctrl.name}`], { timeoutMs: this.o.toolTimeoutMs });
    if (!ok(r)) throw new HostError(`nvme ns-rescan for ${nqn} failed: ${describeResult(r)}`, 'unavailable');
  }
}
