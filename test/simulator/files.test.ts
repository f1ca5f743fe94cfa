/** `/file` print and remove, and state persistence across restarts. */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { attrsOf, WireClient } from '../support/wire-client';
import { MiB, startHarness, tempDir, type SimHarness } from './helpers';
import { startSimulator } from '../../src/simulator';

describe('/file', () => {
  let h: SimHarness;
  let c: WireClient;
  beforeAll(async () => {
    h = await startHarness();
    c = await h.client();
    await c.call(['/disk/add', '=type=file', '=slot=v1', '=file-path=/pool/vols/v1.img', '=file-size=2M']);
    await c.call(['/disk/add', '=type=file', '=slot=v2', '=file-path=/pool/vols/raw', '=file-size=1M']);
  });
  afterAll(() => h.stop());

  const files = async (...words: string[]): Promise<Array<Record<string, string>>> => WireClient.rows(await c.call(['/file/print', ...words], 'f'));

  // MikroTik's Files page (RouterOS 7.16.1): `name=flash type=disk` (no size), `name=flash/skins type=directory`.
  it('lists the pool root as a disk without size, then files and directories, without a leading slash', async () => {
    const rows = await files();
    expect(rows.map((r) => [r.name, r.type, r.size])).toEqual([
      ['pool', 'disk', undefined],
      ['pool/vols', 'directory', undefined],
      ['pool/vols/raw', 'file', String(MiB)],
      ['pool/vols/v1.img', '.img file', String(2 * MiB)],
    ]);
    for (const r of rows) {
      expect(r['.id']).toMatch(/^\*[0-9A-F]+$/);
      expect(r['creation-time']).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    }
  });

  it('keeps /file IDs stable between prints and supports queries', async () => {
    const a = await files('?name=pool/vols/v1.img');
    const b = await files('?name=pool/vols/v1.img');
    expect(a).toHaveLength(1);
    expect(a[0]['.id']).toBe(b[0]['.id']);
    expect(await c.call(['/file/print', '?name=pool/nothing'], 'z')).toEqual([
      ['!empty', '.tag=z'],
      ['!done', '.tag=z'],
    ]);
  });

  it('refuses to remove a file (or its directory) while a disk uses it', async () => {
    const [f] = await files('?name=pool/vols/v1.img');
    const r = await c.call(['/file/remove', `=.id=${f['.id']}`], 'r');
    expect(r.map((s) => s[0])).toEqual(['!trap', '!done']);
    expect(attrsOf(r[0]).message).toMatch(/in use/);
    const [d] = await files('?name=pool/vols');
    expect((await c.call(['/file/remove', `=.id=${d['.id']}`], 'r2'))[0][0]).toBe('!trap');
    expect(existsSync(join(h.dir, 'pool', 'vols', 'v1.img'))).toBe(true);
  });

  it('removes the real file once the disk item is gone', async () => {
    await c.call(['/disk/remove', '=numbers=v1']);
    const [f] = await files('?name=pool/vols/v1.img');
    expect(await c.call(['/file/remove', `=.id=${f['.id']}`], 'r')).toEqual([['!done', '.tag=r']]);
    expect(existsSync(join(h.dir, 'pool', 'vols', 'v1.img'))).toBe(false);
    expect(await files('?name=pool/vols/v1.img')).toEqual([]);
  });

  it('never removes the disk root', async () => {
    const [root] = await files('?type=disk');
    expect(root.name).toBe('pool');
    const r = await c.call(['/file/remove', `=.id=${root['.id']}`], 'r');
    expect(r.map((s) => s[0])).toEqual(['!trap', '!done']);
    expect(existsSync(join(h.dir, 'pool', 'vols', 'raw'))).toBe(true);
  });

  it('traps no such item for an unknown /file ID', async () => {
    const r = await c.call(['/file/remove', '=.id=*FFFF'], 'r');
    expect(r).toEqual([
      ['!trap', '=category=0', '=message=no such item', '.tag=r'],
      ['!done', '.tag=r'],
    ]);
  });
});

describe('state persistence', () => {
  it('keeps disks, IDs and the ID counter across a restart with the same data dir', async () => {
    const dir = tempDir();
    const h1 = await startHarness({ dataDir: dir });
    const c1 = await h1.client();
    const add = await c1.call(['/disk/add', '=type=file', '=slot=keep', '=file-path=/pool/keep.img', '=file-size=1M', '=nvme-tcp-export=yes'], 'a');
    const id = attrsOf(add[0]).ret;
    await h1.stop(true);
    expect(existsSync(join(dir, '.simulator-state.json'))).toBe(true);

    const h2 = await startHarness({ dataDir: dir });
    const c2 = await h2.client();
    const rows = WireClient.rows(await c2.call(['/disk/print', '?slot=keep'], 'p'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ '.id': id, 'nvme-tcp-export': 'true', 'file-size': String(MiB) });
    const next = attrsOf((await c2.call(['/disk/add', '=type=file', '=slot=k2', '=file-path=/pool/k2.img', '=file-size=1M'], 'b'))[0]).ret;
    expect(parseInt(next.slice(1), 16)).toBe(parseInt(id.slice(1), 16) + 1);
    expect(statSync(join(dir, 'pool', 'keep.img')).size).toBe(MiB);
    await h2.stop();
  });

  it('reports capacity from the host filesystem when no pool size is configured', async () => {
    const dir = tempDir();
    const sim = await startSimulator({ dataDir: dir, port: 0 });
    const c = await WireClient.connect(sim.port);
    await c.login();
    const [pool] = WireClient.rows(await c.call(['/disk/print', '=.proplist=size,free,mount-point', '?mount-point=pool'], 'p'));
    expect(Number(pool.size)).toBeGreaterThan(0);
    expect(Number(pool.free)).toBeLessThanOrEqual(Number(pool.size));
    c.close();
    await sim.close();
  });
});
