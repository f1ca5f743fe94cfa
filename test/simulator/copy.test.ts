import { spawnSync } from 'node:child_process';
/**
 * `/disk add copy-from=`: a throttled, sparse copy that runs outside the model lock. The disk item appears when the
 * copy completes; meanwhile its slot and path are reserved, its source is busy, and every other command answers.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_COPY_BYTES_PER_SECOND } from '../../src/simulator/faults';
import { emptyState, STATE_FILE } from '../../src/simulator/model/state';
import { paceBytes } from '../../src/simulator/util/pace';
import { attrsOf, tagOf, WireClient } from '../support/wire-client';
import { MiB, startHarness, tempDir, type SimHarness } from './helpers';

async function until(pred: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Writes `bytes` of random data at `offset` of a host file. */
function writeAt(file: string, offset: number, data: Buffer): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, data, 0, data.length, offset);
  } finally {
    closeSync(fd);
  }
}

const allocated = (file: string): number => statSync(file).blocks * 512;

describe('/disk add copy-from', () => {
  let h: SimHarness;
  let c: WireClient;
  beforeAll(async () => {
    h = await startHarness({ faults: { copyBytesPerSecond: 16 * MiB } });
    c = await h.client();
  });
  afterAll(() => h.stop());
  afterEach(async () => {
    h.sim.faults.clear(); // back to 512 MiB/s: a copy a failed test left held completes
    await until(() => h.sim.copies().length === 0);
  });

  let seq = 0;
  /** A 64 MiB sparse source disk with `dataBytes` of random data at 16 MiB (and a few bytes at both ends). */
  async function source(dataBytes: number): Promise<{ slot: string; id: string; host: string }> {
    const slot = `src-${++seq}`;
    const r = await c.call(['/disk/add', '=type=file', `=slot=${slot}`, `=file-path=/pool/src/${slot}.img`, '=file-size=64M'], 'src');
    expect(r[0][0]).toBe('!done');
    const host = join(h.dir, 'pool', 'src', `${slot}.img`);
    if (dataBytes > 0) {
      writeAt(host, 0, Buffer.from('head'));
      writeAt(host, 16 * MiB, randomBytes(dataBytes));
      writeAt(host, 64 * MiB - 4, Buffer.from('tail'));
    }
    return { slot, id: attrsOf(r[0]).ret, host };
  }

  const copyWords = (from: string, slot: string): string[] => [
    '/disk/add',
    '=type=file',
    `=slot=${slot}`,
    `=copy-from=${from}`,
    `=file-path=/pool/snaps/${slot}.img`,
  ];
  const slots = async (client = c): Promise<string[]> =>
    WireClient.rows(await client.call(['/disk/print', '=.proplist=slot'], 'slots')).map((r) => r.slot);

  /** Starts a copy held open (1 byte/s) and waits until it is in flight. */
  async function heldCopy(client: WireClient, from: string, slot: string, tag: string): Promise<void> {
    h.sim.faults.set({ copyBytesPerSecond: 1 });
    client.send([...copyWords(from, slot), `.tag=${tag}`]);
    await until(() => h.sim.copies().some((x) => x.slot === slot));
  }

  it('takes copyBytesPerSecond at start, at run time and over the wire; clear restores the default', async () => {
    expect(h.sim.faults.get().copyBytesPerSecond).toBe(16 * MiB);
    h.sim.faults.set({ copyBytesPerSecond: 0 });
    expect(h.sim.faults.get().copyBytesPerSecond).toBe(0);
    expect(await c.call(['/simulator/fault/set', `=copy-bytes-per-second=${8 * MiB}`], 'f')).toEqual([['!done', '.tag=f']]);
    expect(h.sim.faults.get().copyBytesPerSecond).toBe(8 * MiB);
    expect(WireClient.rows(await c.call(['/simulator/fault/print'], 'fp'))[0]['copy-bytes-per-second']).toBe(String(8 * MiB));
    expect((await c.call(['/simulator/fault/set', '=copy-bytes-per-second=-1'], 'bad'))[0][0]).toBe('!trap');
    h.sim.faults.clear();
    expect(h.sim.faults.get().copyBytesPerSecond).toBe(DEFAULT_COPY_BYTES_PER_SECOND);
    expect(DEFAULT_COPY_BYTES_PER_SECOND).toBe(512 * MiB);
  });

  it('takes about allocated bytes / throughput: 8 MiB of data at 8 MiB/s ≈ 1 s, an empty sparse disk at once', async () => {
    h.sim.faults.set({ copyBytesPerSecond: 8 * MiB });
    const full = await source(8 * MiB);
    const empty = await source(0);
    expect(allocated(full.host)).toBeGreaterThanOrEqual(8 * MiB);
    expect(allocated(empty.host)).toBe(0);

    let t0 = Date.now();
    expect((await c.call(copyWords(full.id, 'timed-full'), 'cp', 10000))[0][0]).toBe('!done');
    const fullMs = Date.now() - t0;
    t0 = Date.now();
    expect((await c.call(copyWords(empty.slot, 'timed-empty'), 'cp', 10000))[0][0]).toBe('!done');
    const emptyMs = Date.now() - t0;

    expect(fullMs).toBeGreaterThanOrEqual(990);
    expect(fullMs).toBeLessThan(3000);
    // The empty disk costs only the overhead both copies share: about 1 s less.
    expect(fullMs - emptyMs).toBeGreaterThan(500);
  });

  it('copies byte for byte and keeps the destination sparse', async () => {
    h.sim.faults.set({ copyBytesPerSecond: 0 });
    const src = await source(4 * MiB);
    const r = await c.call(copyWords(src.slot, 'exact'), 'cp');
    expect(r[0][0]).toBe('!done');
    const dst = join(h.dir, 'pool', 'snaps', 'exact.img');
    expect(statSync(dst).size).toBe(64 * MiB);
    expect(readFileSync(dst).equals(readFileSync(src.host))).toBe(true);
    expect(allocated(dst)).toBeLessThanOrEqual(allocated(src.host) + MiB);
    expect(allocated(dst)).toBeLessThan(16 * MiB);
    const [row] = WireClient.rows(await c.call(['/disk/print', '?slot=exact'], 'p'));
    expect(row).toMatchObject({ '.id': attrsOf(r[0]).ret, 'file-size': String(64 * MiB), 'nvme-tcp-export': 'false' });
  });

  it('answers every other command during a copy; the disk appears only when the copy completes', async () => {
    const src = await source(MiB);
    const other = await h.client();
    await heldCopy(c, src.slot, 'held', 'cp-held');

    expect(await slots()).not.toContain('held');
    expect(await slots(other)).not.toContain('held');
    const add = await other.call(['/disk/add', '=type=file', '=slot=during', '=file-path=/pool/during.img', '=file-size=1M'], 'a');
    expect(add[0][0]).toBe('!done');
    expect(await other.call(['/disk/set', '=numbers=during', '=comment=set during a copy'], 's')).toEqual([['!done', '.tag=s']]);
    expect(await other.call(['/disk/set', `=numbers=${src.slot}`, '=comment=source stays settable'], 's2')).toEqual([['!done', '.tag=s2']]);
    expect(await other.call(['/disk/remove', '=numbers=during'], 'r')).toEqual([['!done', '.tag=r']]);
    const files = WireClient.rows(await other.call(['/file/print', '=.proplist=name'], 'f')).map((x) => x.name);
    expect(files).toContain('pool/snaps/held.img');
    const copies = WireClient.rows(await other.call(['/simulator/copy/print'], 'cps'));
    expect(copies).toEqual([expect.objectContaining({ slot: 'held', 'file-path': '/pool/snaps/held.img', source: src.id, size: String(64 * MiB) })]);
    // All of that answered while the copy (held at 1 byte/s) is still in flight and unanswered.
    expect(h.sim.copies().map((x) => x.slot)).toEqual(['held']);
    await expect(c.take((s) => tagOf(s) === 'cp-held', 100)).rejects.toThrow(/timeout/);

    h.sim.faults.set({ copyBytesPerSecond: 0 }); // releases the copy in flight
    const done = await c.collect('cp-held');
    expect(done).toEqual([['!done', `=ret=${attrsOf(done[0]).ret}`, '.tag=cp-held']]);
    const [row] = WireClient.rows(await c.call(['/disk/print', '?slot=held', '=.proplist=.id,slot,file-path'], 'p'));
    expect(row).toEqual({ '.id': attrsOf(done[0]).ret, slot: 'held', 'file-path': '/pool/snaps/held.img' });
    expect(h.sim.copies()).toEqual([]);
    expect(WireClient.rows(await c.call(['/simulator/copy/print'], 'cps'))).toEqual([]);
  });

  it('refuses, while copying, an add of the same slot or path, removing the source, and removing the destination file', async () => {
    const src = await source(MiB);
    await heldCopy(c, src.slot, 'busy', 'cp-busy');
    const trap = async (words: string[]): Promise<string> => {
      const r = await c.call(words, 't');
      expect(r.map((s) => s[0])).toEqual(['!trap', '!done']);
      return attrsOf(r[0]).message;
    };
    expect(await trap(['/disk/add', '=type=file', '=slot=busy', '=file-path=/pool/other.img', '=file-size=1M'])).toMatch(/already have such name/);
    expect(await trap(copyWords(src.slot, 'busy'))).toMatch(/already have such name/);
    expect(await trap(['/disk/add', '=type=file', '=slot=busy2', '=file-path=/pool/snaps/busy.img', '=file-size=1M'])).toMatch(/already exists/);
    expect(await trap(['/disk/remove', `=numbers=${src.slot}`])).toBe('failure: disk is busy');
    expect(await trap(['/disk/remove', `=.id=${src.id}`])).toBe('failure: disk is busy');
    expect(await trap(['/disk/set', `=numbers=${src.slot}`, '=slot=busy'])).toMatch(/already have such name/);
    expect(await trap(['/disk/set', '=numbers=busy', '=comment=x'])).toBe('no such item');
    expect(await trap(['/file/remove', '=numbers=pool/snaps/busy.img'])).toMatch(/in use/);
    expect(await trap(['/file/remove', '=numbers=pool/snaps'])).toMatch(/in use/);

    h.sim.faults.set({ copyBytesPerSecond: 0 });
    expect((await c.collect('cp-busy'))[0][0]).toBe('!done');
    // Once the copy is done the source is an ordinary disk again.
    expect(await c.call(['/disk/remove', `=numbers=${src.slot}`], 'rm')).toEqual([['!done', '.tag=rm']]);
  });

  it('traps copy-from onto an existing file instead of attaching stale data', async () => {
    const src = await source(0);
    writeFileSync(join(h.dir, 'pool', 'snaps', 'stale.img'), 'stale');
    const r = await c.call(copyWords(src.slot, 'stale'), 't');
    expect(attrsOf(r[0]).message).toBe('failure: file already exists');
    expect(readFileSync(join(h.dir, 'pool', 'snaps', 'stale.img'), 'utf8')).toBe('stale');
  });

  it('completes the copy when the client connection drops mid-copy (RouterOS runs a command it received)', async () => {
    const src = await source(MiB);
    const doomed = await h.client();
    await heldCopy(doomed, src.slot, 'orphan', 'cp');
    doomed.close();
    await doomed.closed;
    expect(await slots()).not.toContain('orphan');
    h.sim.faults.set({ copyBytesPerSecond: 4 * MiB });
    await until(() => h.sim.disks().some((d) => d.slot === 'orphan'));
    expect(await slots()).toContain('orphan');
    expect(readFileSync(join(h.dir, 'pool', 'snaps', 'orphan.img')).equals(readFileSync(src.host))).toBe(true);
    expect(h.sim.copies()).toEqual([]);
  });

  it('removes the partial file and the reservation when the copy fails', async () => {
    const src = await source(0);
    // The source's backing file became a directory behind the simulator's back: cp and the chunked copy fail.
    rmSync(src.host);
    mkdirSync(src.host);
    h.sim.faults.set({ copyBytesPerSecond: 0 });
    const r = await c.call(copyWords(src.slot, 'fails'), 'cp');
    expect(r.map((s) => s[0])).toEqual(['!trap', '!done']);
    expect(attrsOf(r[0]).message).toMatch(/^failure: /);
    expect(existsSync(join(h.dir, 'pool', 'snaps', 'fails.img'))).toBe(false);
    expect(h.sim.copies()).toEqual([]);
    expect(await slots()).not.toContain('fails');
    expect(WireClient.rows(await c.call(['/file/print', '=.proplist=name'], 'f')).map((x) => x.name)).not.toContain('pool/snaps/fails.img');
    // Slot and path are free again.
    expect((await c.call(['/disk/add', '=type=file', '=slot=fails', '=file-path=/pool/snaps/fails.img', '=file-size=1M'], 'again'))[0][0]).toBe(
      '!done',
    );
  });

  it('releases slot and path when the final step fails', async () => {
    const src = await source(MiB);
    await heldCopy(c, src.slot, 'fails2', 'cp-fails2');
    const dst = join(h.dir, 'pool', 'snaps', 'fails2.img');
    expect(existsSync(dst)).toBe(true);
    // Wait until the data copy itself is over (only the paced wait is left): a `cp` still running would recreate the
    // file we are about to replace.
    const cpRunning = (): boolean => spawnSync('pgrep', ['-P', String(process.pid), '-x', 'cp']).status === 0;
    await until(() => existsSync(dst) && statSync(dst).size === 64 * MiB && !cpRunning());
    // Replace the copied destination with a directory: sizing it to the disk fails.
    rmSync(dst);
    mkdirSync(dst);
    h.sim.faults.set({ copyBytesPerSecond: 0 });
    const r = await c.collect('cp-fails2');
    expect(r.map((s) => s[0])).toEqual(['!trap', '!done']);
    expect(h.sim.copies()).toEqual([]);
    expect(await slots()).not.toContain('fails2');
    rmSync(dst, { recursive: true });
    expect((await c.call(copyWords(src.slot, 'fails2'), 'again'))[0][0]).toBe('!done');
  });

  it('grows a copy with set file-size: the data stays, the tail is sparse', async () => {
    h.sim.faults.set({ copyBytesPerSecond: 0 });
    const src = await source(2 * MiB);
    const r = await c.call([...copyWords(src.slot, 'grown'), '=file-size=80M'], 'cp');
    expect(r[0][0]).toBe('!done');
    const dst = join(h.dir, 'pool', 'snaps', 'grown.img');
    expect(statSync(dst).size).toBe(80 * MiB);
    expect(await c.call(['/disk/set', '=numbers=grown', '=file-size=128M'], 's')).toEqual([['!done', '.tag=s']]);
    expect(statSync(dst).size).toBe(128 * MiB);
    expect(allocated(dst)).toBeLessThan(8 * MiB);
    const data = readFileSync(dst);
    expect(data.subarray(0, 64 * MiB).equals(readFileSync(src.host))).toBe(true);
    expect(data.subarray(64 * MiB).equals(Buffer.alloc(64 * MiB))).toBe(true);
    expect(WireClient.rows(await c.call(['/disk/print', '?slot=grown', '=.proplist=slot,file-size'], 'p'))).toEqual([
      { slot: 'grown', 'file-size': String(128 * MiB) },
    ]);
  });
});

describe('copy-from and the simulator stopping', () => {
  it('abandons a copy in flight on close(): no disk, no partial file, also after a restart', async () => {
    const dir = tempDir();
    try {
      let h = await startHarness({ dataDir: dir, faults: { copyBytesPerSecond: 1 } });
      const c = await h.client();
      expect((await c.call(['/disk/add', '=type=file', '=slot=s', '=file-path=/pool/s.img', '=file-size=8M'], 'a'))[0][0]).toBe('!done');
      writeAt(join(dir, 'pool', 's.img'), 0, randomBytes(MiB));
      c.send(['/disk/add', '=type=file', '=slot=snap', '=copy-from=s', '=file-path=/pool/snap.img', '.tag=cp']);
      await until(() => h.sim.copies().length === 1);
      expect(existsSync(join(dir, 'pool', 'snap.img'))).toBe(true);
      await h.stop(true);
      expect(existsSync(join(dir, 'pool', 'snap.img'))).toBe(false);
      expect((JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as { pendingCopies: string[] }).pendingCopies).toEqual([]);

      h = await startHarness({ dataDir: dir });
      expect(h.sim.disks().map((d) => d.slot)).toEqual(['s']);
      expect(h.sim.copies()).toEqual([]);
      await h.stop(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('deletes at start the partial files a killed simulator left (pendingCopies)', async () => {
    const dir = tempDir();
    try {
      mkdirSync(join(dir, 'pool'));
      writeFileSync(join(dir, 'pool', 'partial.img'), 'half a copy');
      writeFileSync(join(dir, STATE_FILE), JSON.stringify({ ...emptyState(), pendingCopies: ['/pool/partial.img', '/pool/gone.img'] }));
      const h = await startHarness({ dataDir: dir });
      expect(existsSync(join(dir, 'pool', 'partial.img'))).toBe(false);
      await h.stop(true);
      expect((JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as { pendingCopies: string[] }).pendingCopies).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('paceBytes', () => {
  it('waits bytes / rate from the start, counting time already spent', async () => {
    let t0 = Date.now();
    expect(await paceBytes(1000, () => 10_000, t0)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
    t0 = Date.now();
    expect(await paceBytes(1000, () => 10_000, t0 - 100)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(50);
  });

  it('follows rate changes while waiting: 0 ends the wait, an abort returns false', async () => {
    let rate = 1;
    const t0 = Date.now();
    setTimeout(() => (rate = 0), 120);
    expect(await paceBytes(1e9, () => rate, t0)).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    expect(Date.now() - t0).toBeLessThan(500);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 50);
    expect(await paceBytes(1e9, () => 1, Date.now(), ctl.signal)).toBe(false);
  });
});
