/**
 * nvmet export backend: the simulator's exported disks as real kernel NVMe/TCP subsystems, configured through
 * configfs (`/sys/kernel/config/nvmet`), so a real initiator (`nvme connect`, the node plugin) reaches the very
 * backing file the RouterOS API manages. Off unless `SimulatorOptions.nvmet` is set (`rds-csi simulator --nvmet`).
 *
 * After every model change the exporter makes configfs match the disks (`sync`):
 *  - a disk with `nvme-tcp-export=yes` that is not disabled → subsystem named by its NQN, namespace 1 = its backing
 *    file (O_DIRECT), linked into a TCP port on `address` : (`nvmet.port` or the disk's `nvme-tcp-server-port`);
 *  - `nvme-tcp-server-allow-host-name` (comma-separated host NQNs) → `allowed_hosts` with `attr_allow_any_host=0`;
 *    empty → any host;
 *  - export off, disk disabled or removed → subsystem unlinked and removed (connected hosts lose it);
 *  - `file-size` grown → the namespace re-reads the file size (`revalidate_size` where the kernel has it; otherwise
 *    nvmet re-reads it on the host's next Identify, e.g. `nvme ns-rescan`).
 * Only what the exporter made is changed: a subsystem is its own when its namespace's device path is under the
 * simulator's data dir (so the left-overs of a killed simulator are adopted and cleaned up), a port when it made it
 * (an existing port with the same address is shared). Failures are logged, never turned into RouterOS traps: the
 * next change retries. `close()` removes every subsystem it made.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

export const DEFAULT_NVMET_ROOT = '/sys/kernel/config/nvmet';

export interface NvmetOptions {
  /** IPv4 address the kernel target listens on. */
  address: string;
  /** Overrides every disk's `nvme-tcp-server-port`. */
  port?: number;
  /** configfs nvmet directory; tests point it at a fake tree. */
  root?: string;
  /** File operations on the tree; default the real file system. */
  fs?: ConfigFs;
}

/** The configfs operations the exporter uses (a fake in tests emulates configfs's default groups). */
export interface ConfigFs {
  mkdir(p: string): Promise<void>;
  rmdir(p: string): Promise<void>;
  write(p: string, value: string): Promise<void>;
  read(p: string): Promise<string | undefined>;
  symlink(target: string, p: string): Promise<void>;
  unlink(p: string): Promise<void>;
  list(p: string): Promise<string[]>;
  exists(p: string): Promise<boolean>;
}

export const realConfigFs: ConfigFs = {
  mkdir: (p) => fsp.mkdir(p),
  rmdir: (p) => fsp.rmdir(p),
  write: (p, v) => fsp.writeFile(p, v),
  read: async (p) => {
    try {
      return (await fsp.readFile(p, 'utf8')).replace(/\n$/, '');
    } catch {
      return undefined;
    }
  },
  symlink: (t, p) => fsp.symlink(t, p),
  unlink: (p) => fsp.unlink(p),
  list: async (p) => {
    try {
      return await fsp.readdir(p);
    } catch {
      return [];
    }
  },
  exists: async (p) => {
    try {
      await fsp.lstat(p);
      return true;
    } catch {
      return false;
    }
  },
};

/** What one exported disk looks like in configfs. */
export interface NvmetExport {
  nqn: string;
  /** Backing file on the host. */
  file: string;
  sizeBytes: number;
  /** Allowed host NQNs; empty = any host. */
  hosts: string[];
  address: string;
  port: number;
}

/** The disk fields the exporter reads (a SimDisk has them all). */
export interface ExportableDisk {
  nvmeTcpExport: boolean;
  disabled: boolean;
  nvmeTcpServerNqn: string;
  nvmeTcpServerPort: number;
  nvmeTcpServerAllowHostName: string;
  fileSize: number;
  hostPath: string;
}

export function parseHostList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
    ),
  ].sort();
}

/** True when configfs nvmet is there (module nvmet loaded, configfs mounted). */
export async function nvmetAvailable(root = DEFAULT_NVMET_ROOT, cfs: ConfigFs = realConfigFs): Promise<boolean> {
  return cfs.exists(path.join(root, 'subsystems'));
}

type Log = (obj: object, msg: string) => void;

export class NvmetExporter {
  private readonly root: string;
  private readonly fs: ConfigFs;
  /** Subsystems this exporter made (or adopted), by NQN. */
  private readonly exported = new Map<string, NvmetExport>();
  /** Ports this exporter made (removed again when nothing is linked into them). */
  private readonly ownPorts = new Set<string>();
  /** Host entries this exporter made. */
  private readonly ownHosts = new Set<string>();
  private adopted = false;

  constructor(
    private readonly o: NvmetOptions,
    /** Files under this directory are the simulator's: a subsystem serving one is the exporter's to manage. */
    private readonly dataDir: string,
    private readonly log: Log = () => undefined,
  ) {
    this.root = o.root ?? DEFAULT_NVMET_ROOT;
    this.fs = o.fs ?? realConfigFs;
  }

  /** What is exported right now (for assertions). */
  exports(): NvmetExport[] {
    return [...this.exported.values()].map((e) => ({ ...e, hosts: [...e.hosts] }));
  }

  private sub(nqn: string): string {
    return path.join(this.root, 'subsystems', nqn);
  }

  /** The export each disk should have. Two disks with one NQN: the first wins (RouterOS would refuse the second). */
  desired(disks: ExportableDisk[]): Map<string, NvmetExport> {
    const out = new Map<string, NvmetExport>();
    for (const d of disks) {
      if (!d.nvmeTcpExport || d.disabled || out.has(d.nvmeTcpServerNqn)) continue;
      out.set(d.nvmeTcpServerNqn, {
        nqn: d.nvmeTcpServerNqn,
        file: d.hostPath,
        sizeBytes: d.fileSize,
        hosts: parseHostList(d.nvmeTcpServerAllowHostName),
        address: this.o.address,
        port: this.o.port ?? d.nvmeTcpServerPort,
      });
    }
    return out;
  }

  /** Makes configfs match the disks. Never throws: failures are logged and retried on the next sync. */
  async sync(disks: ExportableDisk[]): Promise<void> {
    try {
      if (!this.adopted) {
        await this.adopt();
        this.adopted = true;
      }
      const want = this.desired(disks);
      for (const [nqn, cur] of [...this.exported]) {
        const w = want.get(nqn);
        if (!w || w.file !== cur.file || w.address !== cur.address || w.port !== cur.port)
          await this.guard(`unexport ${nqn}`, () => this.remove(nqn));
      }
      for (const [nqn, w] of want) {
        const cur = this.exported.get(nqn);
        if (!cur) await this.guard(`export ${nqn}`, () => this.create(w));
        else {
          if (cur.hosts.join(',') !== w.hosts.join(',')) await this.guard(`allowed hosts of ${nqn}`, () => this.setHosts(nqn, cur.hosts, w.hosts));
          if (cur.sizeBytes !== w.sizeBytes) await this.guard(`resize ${nqn}`, () => this.resize(nqn, w.sizeBytes));
        }
      }
      await this.cleanupPortsAndHosts();
    } catch (err) {
      this.log({ err: String(err) }, 'nvmet sync failed');
    }
  }

  /** Removes every subsystem this exporter made, then its ports and host entries. */
  async close(): Promise<void> {
    for (const nqn of [...this.exported.keys()]) await this.guard(`unexport ${nqn}`, () => this.remove(nqn));
    await this.cleanupPortsAndHosts();
  }

  private async guard(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.log({ err: String(err) }, `nvmet: ${what} failed`);
    }
  }

  /** Subsystems serving a file under the data dir are left-overs of an earlier run: managed (and so cleaned up) now. */
  private async adopt(): Promise<void> {
    const dir = path.resolve(this.dataDir) + path.sep;
    for (const nqn of await this.fs.list(path.join(this.root, 'subsystems'))) {
      const file = await this.fs.read(path.join(this.sub(nqn), 'namespaces', '1', 'device_path'));
      if (!file || !path.resolve(file).startsWith(dir)) continue;
      this.log({ nqn, file }, 'nvmet: adopting a subsystem of an earlier run');
      // unknown address/port/size: the first sync recreates it when the disk is still exported
      this.exported.set(nqn, { nqn, file, sizeBytes: -1, hosts: [], address: '', port: 0 });
    }
  }

  private async ensurePort(address: string, port: number): Promise<string> {
    const ports = path.join(this.root, 'ports');
    const ids = await this.fs.list(ports);
    for (const id of ids) {
      const p = path.join(ports, id);
      if (
        (await this.fs.read(path.join(p, 'addr_trtype'))) === 'tcp' &&
        (await this.fs.read(path.join(p, 'addr_traddr'))) === address &&
        (await this.fs.read(path.join(p, 'addr_trsvcid'))) === String(port)
      )
        return id;
    }
    const id = String(Math.max(0, ...ids.map(Number).filter(Number.isInteger)) + 1);
    const p = path.join(ports, id);
    await this.fs.mkdir(p);
    this.ownPorts.add(id);
    await this.fs.write(path.join(p, 'addr_trtype'), 'tcp');
    await this.fs.write(path.join(p, 'addr_adrfam'), address.includes(':') ? 'ipv6' : 'ipv4');
    await this.fs.write(path.join(p, 'addr_traddr'), address);
    await this.fs.write(path.join(p, 'addr_trsvcid'), String(port));
    this.log({ port: id, address, svcid: port }, 'nvmet: port created');
    return id;
  }

  private async create(e: NvmetExport): Promise<void> {
    const sub = this.sub(e.nqn);
    if (await this.fs.exists(sub)) throw new Error(`subsystem ${e.nqn} already exists and is not the simulator's`);
    await this.fs.mkdir(sub);
    // recorded at once: whatever fails below is removed again by the next sync or close
    this.exported.set(e.nqn, { ...e, hosts: [] });
    await this.setHosts(e.nqn, [], e.hosts);
    const ns = path.join(sub, 'namespaces', '1');
    await this.fs.mkdir(ns);
    await this.fs.write(path.join(ns, 'device_path'), e.file);
    // O_DIRECT: buffered I/O on a file-backed namespace gave read errors in the VM tier
    if (await this.fs.exists(path.join(ns, 'buffered_io'))) await this.fs.write(path.join(ns, 'buffered_io'), '0');
    await this.fs.write(path.join(ns, 'enable'), '1');
    const port = await this.ensurePort(e.address, e.port);
    await this.fs.symlink(sub, path.join(this.root, 'ports', port, 'subsystems', e.nqn));
    this.exported.set(e.nqn, { ...e, hosts: [...e.hosts] });
    this.log({ nqn: e.nqn, file: e.file, address: e.address, port: e.port, hosts: e.hosts }, 'nvmet: exported');
  }

  private async setHosts(nqn: string, from: string[], to: string[]): Promise<void> {
    const sub = this.sub(nqn);
    const allowed = path.join(sub, 'allowed_hosts');
    // any host while the list changes would let a fenced host in: close first, open last
    if (to.length) await this.fs.write(path.join(sub, 'attr_allow_any_host'), '0');
    for (const h of to) {
      if (await this.fs.exists(path.join(allowed, h))) continue;
      const host = path.join(this.root, 'hosts', h);
      if (!(await this.fs.exists(host))) {
        await this.fs.mkdir(host);
        this.ownHosts.add(h);
      }
      await this.fs.symlink(host, path.join(allowed, h));
    }
    for (const h of await this.fs.list(allowed)) if (!to.includes(h)) await this.fs.unlink(path.join(allowed, h));
    if (!to.length) await this.fs.write(path.join(sub, 'attr_allow_any_host'), '1');
    const cur = this.exported.get(nqn);
    if (cur) cur.hosts = [...to];
    if (from.join(',') !== to.join(',')) this.log({ nqn, hosts: to }, 'nvmet: allowed hosts set');
  }

  private async resize(nqn: string, sizeBytes: number): Promise<void> {
    const attr = path.join(this.sub(nqn), 'namespaces', '1', 'revalidate_size');
    const how = (await this.fs.exists(attr)) ? 'revalidate_size' : 'on the next Identify';
    if (how === 'revalidate_size') await this.fs.write(attr, '1');
    const cur = this.exported.get(nqn);
    if (cur) cur.sizeBytes = sizeBytes;
    this.log({ nqn, sizeBytes, how }, 'nvmet: namespace resized');
  }

  private async remove(nqn: string): Promise<void> {
    const sub = this.sub(nqn);
    for (const port of await this.fs.list(path.join(this.root, 'ports'))) {
      const link = path.join(this.root, 'ports', port, 'subsystems', nqn);
      if (await this.fs.exists(link)) await this.fs.unlink(link);
    }
    for (const ns of await this.fs.list(path.join(sub, 'namespaces'))) {
      const p = path.join(sub, 'namespaces', ns);
      await this.fs.write(path.join(p, 'enable'), '0');
      await this.fs.rmdir(p);
    }
    for (const h of await this.fs.list(path.join(sub, 'allowed_hosts'))) await this.fs.unlink(path.join(sub, 'allowed_hosts', h));
    if (await this.fs.exists(sub)) await this.fs.rmdir(sub);
    this.exported.delete(nqn);
    this.log({ nqn }, 'nvmet: unexported');
  }

  /** Own ports with nothing linked and own host entries no subsystem allows any more are removed. */
  private async cleanupPortsAndHosts(): Promise<void> {
    for (const id of [...this.ownPorts]) {
      const p = path.join(this.root, 'ports', id);
      if ((await this.fs.list(path.join(p, 'subsystems'))).length) continue;
      await this.guard(`remove port ${id}`, async () => {
        if (await this.fs.exists(p)) await this.fs.rmdir(p);
        this.ownPorts.delete(id);
      });
    }
    const inUse = new Set<string>();
    for (const nqn of await this.fs.list(path.join(this.root, 'subsystems')))
      for (const h of await this.fs.list(path.join(this.sub(nqn), 'allowed_hosts'))) inUse.add(h);
    for (const h of [...this.ownHosts]) {
      if (inUse.has(h)) continue;
      await this.guard(`remove host ${h}`, async () => {
        const p = path.join(this.root, 'hosts', h);
        if (await this.fs.exists(p)) await this.fs.rmdir(p);
        this.ownHosts.delete(h);
      });
    }
  }
}
