/**
 * The nvmet export backend against a fake configfs tree (real directories in a temp dir; the fake adds what configfs
 * does on its own: default groups and attribute files on mkdir, rmdir refused while user-made children or links
 * remain). Driven over the RouterOS wire like the controller does. The real kernel target is exercised by the VM
 * scenario `simulator-nvmet` (test/vm/scenarios/simulator-nvmet.sh).
 */
import { existsSync, mkdirSync, promises as fsp, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { type ConfigFs, NvmetExporter, parseHostList, realConfigFs } from '../../src/simulator/nvmet';
import { attrsOf, type WireClient } from '../support/wire-client';
import { MiB, startHarness, tempDir, type SimHarness } from './helpers';

/** configfs semantics over a plain directory tree. */
class FakeConfigFs implements ConfigFs {
  readonly ops: string[] = [];
  constructor(readonly root: string) {
    for (const d of ['subsystems', 'ports', 'hosts']) mkdirSync(path.join(root, d), { recursive: true });
  }

  private rel(p: string): string[] {
    return path.relative(this.root, p).split(path.sep);
  }

  async mkdir(p: string): Promise<void> {
    await fsp.mkdir(p); // EEXIST like configfs
    this.ops.push(`mkdir ${path.relative(this.root, p)}`);
    const r = this.rel(p);
    const file = (name: string, v: string): void => writeFileSync(path.join(p, name), v);
    if (r.length === 2 && r[0] === 'subsystems') {
      for (const g of ['namespaces', 'allowed_hosts', 'passthru']) mkdirSync(path.join(p, g));
      file('attr_allow_any_host', '0');
      file('attr_serial', 'abc');
    } else if (r.length === 4 && r[0] === 'subsystems' && r[2] === 'namespaces') {
      file('device_path', '');
      file('enable', '0');
      file('buffered_io', '1');
      file('revalidate_size', '');
    } else if (r.length === 2 && r[0] === 'ports') {
      for (const g of ['subsystems', 'referrals', 'ana_groups']) mkdirSync(path.join(p, g));
      for (const a of ['addr_trtype', 'addr_adrfam', 'addr_traddr', 'addr_trsvcid']) file(a, '');
    } else if (!(r.length === 2 && r[0] === 'hosts')) throw new Error(`configfs: mkdir not allowed at ${p}`);
  }

  async rmdir(p: string): Promise<void> {
    const r = this.rel(p);
    const busy = (sub: string): boolean => existsSync(path.join(p, sub)) && readdirSyncSafe(path.join(p, sub)).length > 0;
    if (r[0] === 'subsystems' && r.length === 2 && (busy('namespaces') || busy('allowed_hosts')))
      throw Object.assign(new Error('ENOTEMPTY'), { code: 'ENOTEMPTY' });
    if (r[0] === 'ports' && r.length === 2 && busy('subsystems')) throw Object.assign(new Error('ENOTEMPTY'), { code: 'ENOTEMPTY' });
    if (r[0] === 'subsystems' && r.length === 4 && readFileSync(path.join(p, 'enable'), 'utf8') === '1') throw new Error('EBUSY: namespace enabled');
    if (r[0] === 'hosts') {
      // a host still allowed by a subsystem is linked: configfs refuses
      for (const s of readdirSyncSafe(path.join(this.root, 'subsystems')))
        if (existsSync(path.join(this.root, 'subsystems', s, 'allowed_hosts', r[1] ?? ''))) throw new Error('EBUSY: host linked');
    }
    await fsp.rm(p, { recursive: true });
    this.ops.push(`rmdir ${path.relative(this.root, p)}`);
  }

  async write(p: string, value: string): Promise<void> {
    if (!existsSync(p)) throw new Error(`configfs: no attribute ${p}`);
    const r = this.rel(p);
    if (
      r[0] === 'subsystems' &&
      r[2] === 'namespaces' &&
      r[4] === 'enable' &&
      value === '1' &&
      !readFileSync(path.join(path.dirname(p), 'device_path'), 'utf8')
    )
      throw new Error('EINVAL: no device_path');
    await fsp.writeFile(p, value);
    this.ops.push(`write ${path.relative(this.root, p)}=${value}`);
  }

  read(p: string): Promise<string | undefined> {
    return realConfigFs.read(p);
  }

  async symlink(target: string, p: string): Promise<void> {
    await fsp.symlink(target, p);
    this.ops.push(`link ${path.relative(this.root, p)}`);
  }

  async unlink(p: string): Promise<void> {
    await fsp.unlink(p);
    this.ops.push(`unlink ${path.relative(this.root, p)}`);
  }

  list(p: string): Promise<string[]> {
    return realConfigFs.list(p);
  }

  exists(p: string): Promise<boolean> {
    return realConfigFs.exists(p);
  }
}

function readdirSyncSafe(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

const NQN = 'nqn.2026-11.com.mikrotik.rds-csi:pvc-n1';

describe('nvmet export backend (fake configfs)', () => {
  let h: SimHarness;
  let c: WireClient;
  let cfs: FakeConfigFs;
  let root: string;
  const logs: string[] = [];
  const sub = (nqn = NQN): string => path.join(root, 'subsystems', nqn);
  const read = (...p: string[]): string => readFileSync(path.join(root, ...p), 'utf8');

  beforeEach(async () => {
    root = path.join(tempDir(), 'nvmet');
    cfs = new FakeConfigFs(root);
    logs.length = 0;
    h = await startHarness({ nvmet: { address: '10.0.0.5', root, fs: cfs }, logger: (o, m) => logs.push(`${m} ${JSON.stringify(o)}`) });
    c = await h.client();
  });
  afterEach(async () => {
    await h.stop();
    rmSync(path.dirname(root), { recursive: true, force: true });
  });

  async function call(...words: string[]): Promise<Record<string, string>> {
    const r = await c.call(words, 't');
    if (r[r.length - 1]?.[0] !== '!done' || r.some((s) => s[0] === '!trap')) throw new Error(JSON.stringify(r));
    return attrsOf(r[r.length - 1] ?? []);
  }

  async function addExported(extra: string[] = []): Promise<string> {
    const { ret } = await call('/disk/add', '=type=file', '=slot=pvc-n1', '=file-path=/pool/pvc-n1.img', '=file-size=64M');
    await call('/disk/set', `=.id=${ret}`, '=nvme-tcp-export=yes', '=nvme-tcp-server-port=4420', `=nvme-tcp-server-nqn=${NQN}`, ...extra);
    return ret ?? '';
  }

  it('does nothing for disks that are not exported', async () => {
    await call('/disk/add', '=type=file', '=slot=plain', '=file-path=/pool/plain.img', '=file-size=1M');
    expect(cfs.ops).toEqual([]);
    expect(h.sim.nvmetExports()).toEqual([]);
  });

  it('exports a disk: subsystem, namespace 1 = backing file (O_DIRECT, enabled), any host, linked into a tcp port', async () => {
    await addExported();
    expect(read('subsystems', NQN, 'attr_allow_any_host')).toBe('1');
    expect(read('subsystems', NQN, 'namespaces', '1', 'device_path')).toBe(path.join(h.dir, 'pool', 'pvc-n1.img'));
    expect(read('subsystems', NQN, 'namespaces', '1', 'buffered_io')).toBe('0');
    expect(read('subsystems', NQN, 'namespaces', '1', 'enable')).toBe('1');
    expect(read('ports', '1', 'addr_trtype')).toBe('tcp');
    expect(read('ports', '1', 'addr_adrfam')).toBe('ipv4');
    expect(read('ports', '1', 'addr_traddr')).toBe('10.0.0.5');
    expect(read('ports', '1', 'addr_trsvcid')).toBe('4420');
    expect(readlinkSync(path.join(root, 'ports', '1', 'subsystems', NQN))).toBe(sub());
    expect(h.sim.nvmetExports()).toEqual([
      { nqn: NQN, file: path.join(h.dir, 'pool', 'pvc-n1.img'), sizeBytes: 64 * MiB, hosts: [], address: '10.0.0.5', port: 4420 },
    ]);
    // the namespace is enabled only after its device path is set, and linked into the port last
    const i = (s: string): number => cfs.ops.indexOf(s);
    expect(i(`write subsystems/${NQN}/namespaces/1/device_path=${path.join(h.dir, 'pool', 'pvc-n1.img')}`)).toBeLessThan(
      i(`write subsystems/${NQN}/namespaces/1/enable=1`),
    );
    expect(cfs.ops[cfs.ops.length - 1]).toBe(`link ports/1/subsystems/${NQN}`);
  });

  it('turns the allow-host-name list into allowed hosts, and back to any host when emptied', async () => {
    const id = await addExported(['=nvme-tcp-server-allow-host-name=nqn.2014-08.org.nvmexpress:uuid:h1, nqn.2014-08.org.nvmexpress:uuid:h2']);
    expect(read('subsystems', NQN, 'attr_allow_any_host')).toBe('0');
    expect(readdirSyncSafe(path.join(sub(), 'allowed_hosts')).sort()).toEqual([
      'nqn.2014-08.org.nvmexpress:uuid:h1',
      'nqn.2014-08.org.nvmexpress:uuid:h2',
    ]);
    expect(readlinkSync(path.join(sub(), 'allowed_hosts', 'nqn.2014-08.org.nvmexpress:uuid:h1'))).toBe(
      path.join(root, 'hosts', 'nqn.2014-08.org.nvmexpress:uuid:h1'),
    );

    // migration done: only h2 stays; h1's link and host entry go
    await call('/disk/set', `=.id=${id}`, '=nvme-tcp-server-allow-host-name=nqn.2014-08.org.nvmexpress:uuid:h2');
    expect(readdirSyncSafe(path.join(sub(), 'allowed_hosts'))).toEqual(['nqn.2014-08.org.nvmexpress:uuid:h2']);
    expect(existsSync(path.join(root, 'hosts', 'nqn.2014-08.org.nvmexpress:uuid:h1'))).toBe(false);
    expect(read('subsystems', NQN, 'attr_allow_any_host')).toBe('0');

    await call('/disk/set', `=.id=${id}`, '=nvme-tcp-server-allow-host-name=');
    expect(readdirSyncSafe(path.join(sub(), 'allowed_hosts'))).toEqual([]);
    expect(read('subsystems', NQN, 'attr_allow_any_host')).toBe('1');
    expect(readdirSyncSafe(path.join(root, 'hosts'))).toEqual([]);
  });

  it('never opens the subsystem to any host while the host list changes', async () => {
    const id = await addExported(['=nvme-tcp-server-allow-host-name=nqn.2014-08.org.nvmexpress:uuid:h1']);
    cfs.ops.length = 0;
    await call('/disk/set', `=.id=${id}`, '=nvme-tcp-server-allow-host-name=nqn.2014-08.org.nvmexpress:uuid:h2');
    expect(cfs.ops.filter((o) => o.includes('attr_allow_any_host=1'))).toEqual([]);
  });

  it('resizes the namespace when file-size grows', async () => {
    const id = await addExported();
    cfs.ops.length = 0;
    await call('/disk/set', `=.id=${id}`, '=file-size=128M');
    expect(cfs.ops).toContain(`write subsystems/${NQN}/namespaces/1/revalidate_size=1`);
    expect(h.sim.nvmetExports()[0]?.sizeBytes).toBe(128 * MiB);
  });

  it.each([
    ['export turned off', ['=nvme-tcp-export=no']],
    ['disk disabled', ['=disabled=yes']],
  ])('removes the subsystem and its own port when the %s', async (_what, attrs) => {
    const id = await addExported();
    await call('/disk/set', `=.id=${id}`, ...attrs);
    expect(existsSync(sub())).toBe(false);
    expect(existsSync(path.join(root, 'ports', '1'))).toBe(false);
    expect(h.sim.nvmetExports()).toEqual([]);
  });

  it('removes the subsystem on /disk remove (the backing file stays)', async () => {
    const id = await addExported(['=nvme-tcp-server-allow-host-name=nqn.2014-08.org.nvmexpress:uuid:h1']);
    await call('/disk/remove', `=.id=${id}`);
    expect(readdirSyncSafe(path.join(root, 'subsystems'))).toEqual([]);
    expect(readdirSyncSafe(path.join(root, 'hosts'))).toEqual([]);
    expect(existsSync(path.join(h.dir, 'pool', 'pvc-n1.img'))).toBe(true);
  });

  it('recreates the export when the NQN or port changes', async () => {
    const id = await addExported();
    await call('/disk/set', `=.id=${id}`, '=nvme-tcp-server-port=4421', '=nvme-tcp-server-nqn=nqn.2026-11.com.mikrotik.rds-csi:pvc-n2');
    expect(existsSync(sub())).toBe(false);
    expect(existsSync(sub('nqn.2026-11.com.mikrotik.rds-csi:pvc-n2'))).toBe(true);
    // the old port (4420) had nothing linked any more and went; the new one listens on 4421
    expect(readdirSyncSafe(path.join(root, 'ports')).map((id) => read('ports', id, 'addr_trsvcid'))).toEqual(['4421']);
  });

  it('shares a port it did not make and leaves it, and leaves foreign subsystems alone', async () => {
    await cfs.mkdir(path.join(root, 'ports', '7'));
    for (const [a, v] of [
      ['addr_trtype', 'tcp'],
      ['addr_adrfam', 'ipv4'],
      ['addr_traddr', '10.0.0.5'],
      ['addr_trsvcid', '4420'],
    ] as const)
      await cfs.write(path.join(root, 'ports', '7', a), v);
    await cfs.mkdir(path.join(root, 'subsystems', 'nqn.foreign:boot'));
    await cfs.symlink(path.join(root, 'subsystems', 'nqn.foreign:boot'), path.join(root, 'ports', '7', 'subsystems', 'nqn.foreign:boot'));
    const id = await addExported();
    expect(existsSync(path.join(root, 'ports', '7', 'subsystems', NQN))).toBe(true);
    expect(existsSync(path.join(root, 'ports', '8'))).toBe(false);
    await call('/disk/remove', `=.id=${id}`);
    expect(existsSync(path.join(root, 'ports', '7'))).toBe(true);
    expect(existsSync(path.join(root, 'subsystems', 'nqn.foreign:boot'))).toBe(true);
    await h.stop();
    expect(existsSync(path.join(root, 'subsystems', 'nqn.foreign:boot'))).toBe(true);
    h = await startHarness({ nvmet: { address: '10.0.0.5', root, fs: cfs } }); // for afterEach
  });

  it('a subsystem that already exists and is not its own is never taken over (logged, not trapped)', async () => {
    await cfs.mkdir(sub());
    await addExported();
    expect(readdirSyncSafe(path.join(sub(), 'namespaces'))).toEqual([]);
    expect(h.sim.nvmetExports()).toEqual([]);
    expect(logs.some((l) => l.includes('not the simulator'))).toBe(true);
  });

  it('close() removes every export; a restart exports the persisted disks again', async () => {
    await addExported(['=nvme-tcp-server-allow-host-name=nqn.2014-08.org.nvmexpress:uuid:h1']);
    const dir = h.dir;
    await h.sim.close();
    expect(readdirSyncSafe(path.join(root, 'subsystems'))).toEqual([]);
    expect(readdirSyncSafe(path.join(root, 'ports'))).toEqual([]);
    expect(readdirSyncSafe(path.join(root, 'hosts'))).toEqual([]);
    h = await startHarness({ dataDir: dir, nvmet: { address: '10.0.0.5', root, fs: cfs } });
    expect(read('subsystems', NQN, 'namespaces', '1', 'enable')).toBe('1');
    expect(readdirSyncSafe(path.join(sub(), 'allowed_hosts'))).toEqual(['nqn.2014-08.org.nvmexpress:uuid:h1']);
  });

  it('adopts and cleans up the subsystems a killed simulator left (namespace file under its data dir)', async () => {
    // what a SIGKILLed simulator leaves: its subsystem, without a disk that still wants it
    const stale = sub('nqn.2026-11.com.mikrotik.rds-csi:pvc-stale');
    await cfs.mkdir(stale);
    await cfs.mkdir(path.join(stale, 'namespaces', '1'));
    await cfs.write(path.join(stale, 'namespaces', '1', 'device_path'), path.join(h.dir, 'pool', 'gone.img'));
    const other = new NvmetExporter({ address: '10.0.0.5', root, fs: cfs }, h.dir);
    await other.sync([]);
    expect(existsSync(stale)).toBe(false);
  });

  it('fails to start when configfs nvmet is missing', async () => {
    await expect(startHarness({ nvmet: { address: '127.0.0.1', root: path.join(root, 'nope') } })).rejects.toThrow(/modprobe nvmet/);
  });
});

describe('parseHostList', () => {
  it('splits on commas, trims, drops empties and duplicates', () => {
    expect(parseHostList(' b, a,,b ')).toEqual(['a', 'b']);
    expect(parseHostList('')).toEqual([]);
  });
});
