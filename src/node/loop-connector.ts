import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { isUnder, nqnFor } from '../domain/ids';
import type { HostPort } from '../host/port';
import { describeResult, ok } from '../host/run';
import {
  type BlockDevice,
  type Connector,
  type DeviceOwner,
  HostError,
  type ManagedConnection,
  type VolumeTarget,
  isManagedNqn,
  volumeIdOfNqn,
} from './connector';
import { blockDeviceOf, blockNameOf, waitForDevice } from './device';

/**
 * Connector for the all-in-one mode and the tests: the simulator keeps a volume's disk as a file at
 * `<dataDir>/<basePath>/<volumeId>.img`; attaching it with losetup gives a real block device to format, mount and
 * mknod. Devices are found by their backing file in sysfs (`/sys/class/block/loopN/loop/backing_file`), so a
 * plugin restart finds them again; detach only ever touches loop devices of files under that directory.
 *
 * All-in-one with several simulators (one per RDS backend, issue 16) gives one data dir per simulator
 * (`moreDataDirs`). A slot is on one backend only (its NQN and file name are the same on every backend,
 * src/domain/backend-id.ts), so a volume's file is the one that exists in any of the dirs; a file in none of them
 * is looked for in the first.
 */

export interface LoopConnectorOptions {
  host: HostPort;
  nqnPrefix: string;
  dataDir: string;
  /** The data dirs of further simulators (all-in-one with several backends). */
  moreDataDirs?: readonly string[];
  basePath: string;
  toolTimeoutMs: number;
}

export class LoopConnector implements Connector {
  readonly kind = 'loop' as const;
  readonly deviceName = /^loop\d+$/;
  private readonly volumesDirs: string[];

  constructor(private readonly o: LoopConnectorOptions) {
    this.volumesDirs = [o.dataDir, ...(o.moreDataDirs ?? [])].map((d) => path.join(d, o.basePath.replace(/^\/+/, '')));
  }

  private filesOf(nqn: string): string[] {
    const id = volumeIdOfNqn(this.o.nqnPrefix, nqn);
    if (!id) throw new HostError(`NQN ${nqn} is not a volume under the managed prefix ${this.o.nqnPrefix}`, 'precondition');
    return this.volumesDirs.map((dir) => {
      const file = path.join(dir, `${id}.img`);
      if (!isUnder(dir, file)) throw new HostError(`backing file of ${nqn} escapes ${dir}`, 'precondition');
      return file;
    });
  }

  /** The volume's backing file: the one that exists, in the first data dir that has it (else in the first). */
  private async fileOf(nqn: string): Promise<string> {
    const files = this.filesOf(nqn);
    for (const file of files) {
      if (
        await fsp.access(file).then(
          () => true,
          () => false,
        )
      )
        return file;
    }
    return files[0];
  }

  private static async canonical(dir: string): Promise<string> {
    try {
      return await fsp.realpath(dir);
    } catch {
      return dir;
    }
  }

  private canonicalDirs(): Promise<string[]> {
    return Promise.all(this.volumesDirs.map((d) => LoopConnector.canonical(d)));
  }

  /** Attached loop devices and their backing files (realpaths, " (deleted)" stripped). */
  private async attached(): Promise<Array<{ name: string; file: string }>> {
    const sysfs = this.o.host.sysfs;
    const out: Array<{ name: string; file: string }> = [];
    for (const name of await sysfs.list('class', 'block')) {
      if (!/^loop\d+$/.test(name)) continue;
      const file = await sysfs.read('class', 'block', name, 'loop', 'backing_file');
      if (file) out.push({ name, file: file.replace(/ \(deleted\)$/, '') });
    }
    return out;
  }

  /** Loop devices backed by this NQN's file in any of the data dirs. */
  private async devicesOf(nqn: string): Promise<string[]> {
    const files = this.filesOf(nqn);
    const dirs = await this.canonicalDirs();
    const want = new Set(files.map((f, i) => path.join(dirs[i], path.basename(f))));
    return (await this.attached()).filter((a) => want.has(a.file)).map((a) => a.name);
  }

  async find(nqn: string): Promise<BlockDevice | undefined> {
    for (const name of await this.devicesOf(nqn)) {
      const dev = await blockDeviceOf(this.o.host.sysfs, this.o.host.devRoot, name);
      if (dev) return dev;
    }
    return undefined;
  }

  async attach(t: VolumeTarget, deadline: number): Promise<BlockDevice> {
    const file = await this.fileOf(t.nqn);
    const existing = await this.find(t.nqn);
    if (existing) return existing;
    try {
      await fsp.access(file);
    } catch {
      throw new HostError(`volume ${t.volumeId}: backing file ${file} does not exist`, 'not-found');
    }
    const timeoutMs = Math.max(1000, Math.min(this.o.toolTimeoutMs, deadline - Date.now()));
    const r = await this.o.host.run('losetup', ['--find', '--show', file], { timeoutMs });
    if (!ok(r)) throw new HostError(`losetup of ${file} failed: ${describeResult(r)}`, 'unavailable');
    return waitForDevice(() => this.find(t.nqn), deadline, `loop device of ${t.nqn}`);
  }

  async detach(nqn: string): Promise<void> {
    if (!isManagedNqn(this.o.nqnPrefix, nqn))
      throw new HostError(`refusing to detach ${nqn}: not under the managed prefix ${this.o.nqnPrefix}`, 'precondition');
    for (const name of await this.devicesOf(nqn)) {
      const r = await this.o.host.run('losetup', ['--detach', path.join(this.o.host.devRoot, name)], { timeoutMs: this.o.toolTimeoutMs });
      if (!ok(r)) throw new HostError(`losetup --detach ${name} failed: ${describeResult(r)}`, 'unavailable');
    }
  }

  /** The NQN of the volume whose file backs a loop device, when the file is a volume file under the data dir. */
  private nqnOfFile(dirs: readonly string[], file: string): string | undefined {
    const m = /^([a-z0-9][a-z0-9-]*)\.img$/.exec(path.basename(file));
    if (!dirs.includes(path.dirname(file)) || !m) return undefined;
    const nqn = nqnFor(this.o.nqnPrefix, m[1]);
    return isManagedNqn(this.o.nqnPrefix, nqn) ? nqn : undefined;
  }

  async listManaged(): Promise<ManagedConnection[]> {
    const dirs = await this.canonicalDirs();
    const out: ManagedConnection[] = [];
    for (const a of await this.attached()) {
      const nqn = this.nqnOfFile(dirs, a.file);
      if (nqn) out.push({ nqn, device: await blockDeviceOf(this.o.host.sysfs, this.o.host.devRoot, a.name) });
    }
    return out;
  }

  async deviceOwner(major: number, minor: number): Promise<DeviceOwner> {
    const name = await blockNameOf(this.o.host.sysfs, major, minor);
    if (!name) return { kind: 'gone' };
    const a = (await this.attached()).find((x) => x.name === name);
    return { kind: 'live', name, nqn: a ? this.nqnOfFile(await this.canonicalDirs(), a.file) : undefined };
  }

  async rescan(nqn: string): Promise<void> {
    const dev = await this.find(nqn);
    if (!dev) throw new HostError(`${nqn} is not attached on this node`, 'precondition');
    const r = await this.o.host.run('losetup', ['--set-capacity', dev.path], { timeoutMs: this.o.toolTimeoutMs });
    if (!ok(r)) throw new HostError(`losetup --set-capacity ${dev.path} failed: ${describeResult(r)}`, 'unavailable');
  }

  /** A loop device has no transport: attached means live. */
  async linkState(nqn: string): Promise<string | undefined> {
    return (await this.find(nqn)) ? 'live' : undefined;
  }
}
