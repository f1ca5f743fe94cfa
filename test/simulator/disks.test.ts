/** `/disk` over the wire: add/print/set/remove, sparse backing files, capacity, validation. */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { attrsOf, WireClient } from '../support/wire-client';
import { GiB, MiB, startHarness, type SimHarness } from './helpers';

describe('/disk', () => {
  let h: SimHarness;
  let c: WireClient;
  beforeAll(async () => {
    h = await startHarness({ poolSizeBytes: 50 * GiB });
    c = await h.client();
  });
  afterAll(() => h.stop());

  async function add(...attrs: string[]): Promise<string> {
    const r = await c.call(['/disk/add', ...attrs], 'add');
    if (r[0][0] !== '!done') throw new Error(JSON.stringify(r));
    return attrsOf(r[0]).ret;
  }

  async function trapOf(words: string[]): Promise<string> {
    const r = await c.call(words, 'tr');
    expect(r.map((s) => s[0])).toEqual(['!trap', '!done']);
    return attrsOf(r[0]).message;
  }

  const print = async (...words: string[]): Promise<Array<Record<string, string>>> => WireClient.rows(await c.call(['/disk/print', ...words], 'p'));

  it('shows the pool item with size, free, use and mount-point', async () => {
    const [pool] = await print('?mount-point=pool');
    expect(pool).toMatchObject({
      '.id': '*1',
      slot: 'pool',
      type: 'raid',
      fs: 'btrfs',
      'mount-point': 'pool',
      size: String(50 * GiB),
      free: String(50 * GiB),
      use: '0%',
    });
  });

  it('adds a file disk as a sparse file of the exact size and answers !done =ret=*ID', async () => {
    const id = await add(
      '=type=file',
      '=slot=pvc-1',
      '=file-path=/pool/vols/pvc-1.img',
      '=file-size=10G',
      '=nvme-tcp-export=yes',
      '=nvme-tcp-server-port=4420',
    );
    expect(id).toMatch(/^\*[0-9A-F]+$/);
    const st = statSync(join(h.dir, 'pool', 'vols', 'pvc-1.img'));
    expect(st.size).toBe(10 * GiB);
    expect(st.blocks * 512).toBeLessThan(MiB);
    const [row] = await print('?slot=pvc-1');
    expect(row).toMatchObject({
      '.id': id,
      slot: 'pvc-1',
      type: 'file',
      'file-path': '/pool/vols/pvc-1.img',
      'file-size': String(10 * GiB),
      size: String(10 * GiB),
      model: '/pool/vols/pvc-1.img',
      'nvme-tcp-export': 'true',
      'nvme-tcp-server-port': '4420',
      'nvme-tcp-server-nqn': 'pvc-1',
      'nvme-tcp-server-allow-host-name': '',
      'file-offset': '0',
      'block-device': 'true',
    });
    expect(h.sim.disks().find((d) => d.slot === 'pvc-1')).toMatchObject({ id, fileSize: 10 * GiB, nvmeTcpExport: true });
  });

  it('allocates increasing upper-case hex IDs', async () => {
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push(await add('=type=file', `=slot=id-${i}`, `=file-path=pool/ids/${i}.img`, '=file-size=1M'));
    const nums = ids.map((x) => parseInt(x.slice(1), 16));
    for (let i = 1; i < nums.length; i++) expect(nums[i]).toBe(nums[i - 1] + 1);
    expect(ids.some((x) => /[A-F]/.test(x))).toBe(true);
  });

  it.each([
    ['1024', 1024],
    ['4K', 4096],
    ['3M', 3 * MiB],
    ['2G', 2 * GiB],
    ['1T', 1024 * GiB],
  ])('parses file-size=%s as %d bytes', async (text, bytes) => {
    h.sim.faults.set({});
    const slot = `sz-${text}`;
    const big = bytes > 50 * GiB;
    if (big) {
      expect(await trapOf(['/disk/add', '=type=file', `=slot=${slot}`, `=file-path=/pool/${slot}.img`, `=file-size=${text}`])).toBe(
        'not enough space',
      );
      return;
    }
    await add('=type=file', `=slot=${slot}`, `=file-path=/pool/${slot}.img`, `=file-size=${text}`);
    expect(statSync(join(h.dir, 'pool', `${slot}.img`)).size).toBe(bytes);
  });

  it.each([
    [['=slot=x1', '=file-path=/pool/x1.img', '=file-size=1M'], /missing value.*type/],
    [['=type=tmpfs', '=slot=x2', '=file-path=/pool/x2.img'], /only type=file/],
    [['=type=file', '=slot=x3', '=file-size=1M'], /missing value.*file-path/],
    [['=type=file', '=slot=x4', '=file-path=/other/x4.img', '=file-size=1M'], /inside a mounted disk/],
    [['=type=file', '=slot=x5', '=file-path=/pool/../x5.img', '=file-size=1M'], /inside a mounted disk/],
    [['=type=file', '=slot=x6', '=file-path=/poolx/x6.img', '=file-size=1M'], /inside a mounted disk/],
    [['=type=file', '=slot=x7', '=file-path=/pool', '=file-size=1M'], /inside a mounted disk/],
    [['=type=file', '=slot=pvc-1', '=file-path=/pool/dup.img', '=file-size=1M'], /already have such name/],
    [['=type=file', '=slot=x8', '=file-path=/pool/vols/pvc-1.img', '=file-size=1M'], /in use/],
    [['=type=file', '=slot=x9', '=file-path=/pool/x9.img', '=file-size=12Q'], /file-size/],
    [['=type=file', '=slot=x10', '=file-path=/pool/x10.img', '=file-size=1M', '=bogus=1'], /unknown parameter bogus/],
    [['=type=file', '=slot=x11', '=file-path=/pool/x11.img', '=file-size=1M', '=nvme-tcp-export=maybe'], /nvme-tcp-export/],
    [['=type=file', '=slot=x12', '=file-path=/pool/x12.img'], /does not exist/],
    [['=type=file', '=slot=x13', '=file-path=/pool/x13.img', '=file-size=60G'], /^not enough space$/],
  ])('refuses add %j', async (attrs, re) => {
    expect(await trapOf(['/disk/add', ...attrs])).toMatch(re);
  });

  it('derives the default slot from the path as documented for the CLI', async () => {
    const id = await add('=type=file', '=file-path=/pool/d/swap', '=file-size=1M');
    const [row] = await print(`?.id=${id}`);
    expect(row.slot).toBe('file-pool-d-swap');
  });

  it('attaches an existing file without touching its content, growing it when file-size is larger', async () => {
    mkdirSync(join(h.dir, 'pool', 'old'), { recursive: true });
    const file = join(h.dir, 'pool', 'old', 'keep.img');
    writeFileSync(file, Buffer.from('precious data'));
    await add('=type=file', '=slot=keep', '=file-path=/pool/old/keep.img');
    expect((await print('?slot=keep'))[0]['file-size']).toBe('13');
    await c.call(['/disk/remove', '=numbers=keep']);
    await add('=type=file', '=slot=keep2', '=file-path=/pool/old/keep.img', '=file-size=1M');
    expect(statSync(file).size).toBe(MiB);
    expect(readFileSync(file).subarray(0, 13).toString()).toBe('precious data');
    await c.call(['/disk/remove', '=numbers=keep2']);
    await add('=type=file', '=slot=keep3', '=file-path=/pool/old/keep.img', '=file-size=4K');
    expect(statSync(file).size).toBe(MiB); // never shrinks
  });

  it('sets nvme-tcp properties, grows file-size and refuses to shrink', async () => {
    const [{ '.id': id }] = await print('?slot=pvc-1', '=.proplist=.id,slot');
    expect(
      await c.call(
        [
          '/disk/set',
          `=.id=${id}`,
          '=nvme-tcp-server-nqn=nqn.2026-01.sim:pvc-1',
          '=nvme-tcp-server-allow-host-name=nqn.host:a',
          '=nvme-tcp-export=no',
        ],
        's',
      ),
    ).toEqual([['!done', '.tag=s']]);
    await c.call(['/disk/set', `=numbers=${id}`, '=file-size=12G']);
    const [row] = await print(`?.id=${id}`);
    expect(row).toMatchObject({
      'nvme-tcp-server-nqn': 'nqn.2026-01.sim:pvc-1',
      'nvme-tcp-server-allow-host-name': 'nqn.host:a',
      'nvme-tcp-export': 'false',
      'file-size': String(12 * GiB),
    });
    expect(statSync(join(h.dir, 'pool', 'vols', 'pvc-1.img')).size).toBe(12 * GiB);
    expect(await trapOf(['/disk/set', `=.id=${id}`, '=file-size=1G'])).toMatch(/decreased/);
    expect(await trapOf(['/disk/set', `=.id=${id}`, '=file-size=100G'])).toBe('not enough space');
    expect(await trapOf(['/disk/set', '=.id=*1', '=comment=x'])).toMatch(/can not change/);
  });

  it('traps no such item for unknown IDs in set and remove', async () => {
    expect(await trapOf(['/disk/set', '=.id=*FFFF', '=comment=x'])).toBe('no such item');
    expect(await trapOf(['/disk/remove', '=.id=*FFFF'])).toBe('no such item');
  });

  it('removes the disk item but leaves the backing file', async () => {
    await add('=type=file', '=slot=gone', '=file-path=/pool/gone.img', '=file-size=1M');
    const [{ '.id': id }] = await print('?slot=gone');
    expect(await c.call(['/disk/remove', `=.id=${id}`], 'r')).toEqual([['!done', '.tag=r']]);
    expect(await print('?slot=gone')).toEqual([]);
    expect(existsSync(join(h.dir, 'pool', 'gone.img'))).toBe(true);
  });

  it('supports .proplist, count-only and ?# queries on disks', async () => {
    const rows = await print('=.proplist=slot', '?slot=pvc-1', '?slot=pool', '?#|');
    expect(rows).toEqual([{ slot: 'pool' }, { slot: 'pvc-1' }]);
    const count = await c.call(['/disk/print', '=count-only=', '?type=file'], 'n');
    expect(Number(attrsOf(count[0]).ret)).toBe(h.sim.disks().length);
    const detail = await print('=detail=', '?slot=pvc-1');
    expect(detail).toHaveLength(1);
    expect(await c.call(['/disk/getall', '=.proplist=slot', '?slot=pool'], 'g')).toEqual([
      ['!re', '=slot=pool', '.tag=g'],
      ['!done', '.tag=g'],
    ]);
  });

  it('copies data sparsely with copy-from', async () => {
    const src = join(h.dir, 'pool', 'vols', 'pvc-1.img');
    const fd = Buffer.from('hello');
    const f = openSync(src, 'r+');
    writeSync(f, fd, 0, fd.length, 5 * GiB);
    closeSync(f);
    await add('=type=file', '=slot=snap-1', '=copy-from=pvc-1', '=file-path=/pool/snaps/snap-1.img');
    const dst = join(h.dir, 'pool', 'snaps', 'snap-1.img');
    const st = statSync(dst);
    expect(st.size).toBe(12 * GiB);
    expect(st.blocks * 512).toBeLessThan(16 * MiB);
    const g = openSync(dst, 'r');
    const buf = Buffer.alloc(5);
    readSync(g, buf, 0, 5, 5 * GiB);
    closeSync(g);
    expect(buf.toString()).toBe('hello');
  });

  it('serializes concurrent adds: one slot, one winner', async () => {
    const tags = Array.from({ length: 10 }, (_, i) => `race${i}`);
    for (const t of tags) c.send(['/disk/add', '=type=file', '=slot=race', `=file-path=/pool/race/${t}.img`, '=file-size=1M', `.tag=${t}`]);
    const replies = await Promise.all(tags.map((t) => c.collect(t)));
    expect(replies.filter((r) => r[0][0] === '!done')).toHaveLength(1);
    expect(replies.filter((r) => r[0][0] === '!trap')).toHaveLength(9);
    expect(h.sim.disks().filter((d) => d.slot === 'race')).toHaveLength(1);
  });

  it('counts allocated bytes of pool files against free space', async () => {
    const before = Number((await print('=.proplist=free,mount-point', '?mount-point=pool'))[0].free);
    const id = await add('=type=file', '=slot=filled', '=file-path=/pool/filled.img', '=file-size=8M');
    const fd = openSync(join(h.dir, 'pool', 'filled.img'), 'r+');
    writeSync(fd, Buffer.alloc(4 * MiB, 1), 0, 4 * MiB, 0);
    closeSync(fd);
    await c.call(['/disk/set', `=.id=${id}`, '=comment=filled']); // a change refreshes the capacity at once
    const after = Number((await print('=.proplist=free,mount-point', '?mount-point=pool'))[0].free);
    expect(before - after).toBeGreaterThanOrEqual(4 * MiB);
  });
});
