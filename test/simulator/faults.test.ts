/** Fault injection: latency (concurrent), traps, !fatal, drops, down/up, the wire admin commands and stats. */
import * as net from 'node:net';
import { attrsOf, tagOf, WireClient } from '../support/wire-client';
import { waitFor } from '../support/wait';
import { startHarness, type SimHarness } from './helpers';

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

describe('fault injection', () => {
  let h: SimHarness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.stop());
  afterEach(() => h.sim.faults.clear());

  it('delays each command by the latency, concurrently rather than serialized', async () => {
    const c = await h.client();
    h.sim.faults.set({ latencyMs: 200 });
    const t0 = Date.now();
    const tags = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    for (const t of tags) c.send(['/disk/print', '=count-only=', `.tag=${t}`]);
    await Promise.all(tags.map((t) => c.collect(t)));
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(1000); // 10 × 200 ms would be 2 s if serialized
  });

  it('traps the next N commands matching a path, with category, then recovers', async () => {
    const c = await h.client();
    h.sim.faults.trapNext('/disk/add', 'not enough space', 2, 4);
    const add = ['/disk/add', '=type=file', '=slot=t1', '=file-path=/pool/t1.img', '=file-size=1M'];
    expect(await c.call(['/disk/print', '=count-only='], 'p')).toHaveLength(1); // other paths unaffected
    for (const tag of ['x', 'y']) {
      expect(await c.call(add, tag)).toEqual([
        ['!trap', '=category=4', '=message=not enough space', `.tag=${tag}`],
        ['!done', `.tag=${tag}`],
      ]);
    }
    expect((await c.call(add, 'z'))[0][0]).toBe('!done');
    expect(h.sim.disks().map((d) => d.slot)).toContain('t1');
  });

  it('answers the next command with an untagged !fatal and closes', async () => {
    const c = await h.client();
    h.sim.faults.fatalNext('out of memory');
    expect(await c.call(['/disk/print'], 'f')).toEqual([['!fatal', 'out of memory']]);
    await c.closed;
    const c2 = await h.client();
    expect((await c2.call(['#'], 'ok'))[0][0]).toBe('!done');
  });

  it('drops the connection on the next N commands (before running them)', async () => {
    h.sim.faults.dropNext(1);
    const c = await h.client(false);
    c.send(['/login', '=name=admin', '=password=', '.tag=l']);
    await c.closedWithin();
    expect(c.unread()).toEqual([]); // dropped without an answer
    const c2 = await h.client();
    expect((await c2.call(['#'], 'ok'))[0][0]).toBe('!done');
  });

  it('drop-mode after runs the command, then drops without answering', async () => {
    const c = await h.client();
    h.sim.faults.set({ dropNext: 1, dropMode: 'after' });
    c.send(['/disk/add', '=type=file', '=slot=ghost', '=file-path=/pool/ghost.img', '=file-size=1M', '.tag=g']);
    await c.closedWithin();
    expect(c.unread()).toEqual([]); // ran, but never answered
    expect(h.sim.disks().map((d) => d.slot)).toContain('ghost');
  });

  it('drops with probability 1: the connection closes before the command runs or is answered', async () => {
    const c = await h.client();
    expect(await c.call(['#'], 'before')).toEqual([['!done', '.tag=before']]); // open and answering until now
    h.sim.faults.set({ dropProbability: 1 });
    c.send(['/disk/add', '=type=file', '=slot=dropped', '=file-path=/pool/dropped.img', '=file-size=1M', '.tag=x']);
    await c.closedWithin();
    expect(c.unread()).toEqual([]);
    expect(h.sim.disks().map((d) => d.slot)).not.toContain('dropped');
  });

  it('goes down (refusing connections, closing open ones) and comes back up on the same port', async () => {
    const c = await h.client();
    await h.sim.faults.setDown(true);
    await c.closedWithin();
    expect(await refused(h.sim.port)).toBe(true);
    await h.sim.faults.setDown(false);
    expect(await refused(h.sim.port)).toBe(false);
    const c2 = await h.client();
    expect((await c2.call(['#'], 'ok'))[0][0]).toBe('!done');
  });

  it('is steerable over the wire with /simulator/fault/set, print and clear', async () => {
    const admin = await h.client();
    const c = await h.client();
    const set = await admin.call(
      ['/simulator/fault/set', '=latency-ms=150', '=empty-mode=legacy', '=trap-command=/disk/add', '=trap-message=not enough space', '=trap-count=1'],
      's',
    );
    expect(set).toEqual([['!done', '.tag=s']]);
    const [settings] = WireClient.rows(await admin.call(['/simulator/fault/print'], 'fp'));
    expect(settings).toMatchObject({ 'latency-ms': '150', 'empty-mode': 'legacy', traps: '/disk/add:1:not enough space' });
    const t0 = Date.now();
    expect(await c.call(['/disk/print', '?slot=none'], 'e')).toEqual([['!done', '.tag=e']]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(145);
    expect(attrsOf((await c.call(['/disk/add', '=type=file', '=slot=w', '=file-path=/pool/w.img', '=file-size=1M'], 'a'))[0]).message).toBe(
      'not enough space',
    );
    // Admin commands are exempt from latency and faults.
    await admin.call(['/simulator/fault/set', '=fatal-next=yes', '=fatal-reason=boom']);
    expect(await admin.call(['/simulator/fault/clear'], 'c')).toEqual([['!done', '.tag=c']]);
    expect(await c.call(['/disk/print', '?slot=none'], 'e2')).toEqual([
      ['!empty', '.tag=e2'],
      ['!done', '.tag=e2'],
    ]);
    expect((await admin.call(['/simulator/fault/set', '=bogus=1'], 'b'))[0]).toEqual(['!trap', '=message=unknown parameter bogus', '.tag=b']);
  });

  it('applies fatal-next and drop-next set over the wire', async () => {
    const admin = await h.client();
    await admin.call(['/simulator/fault/set', '=fatal-next=yes', '=fatal-reason=boom']);
    const c = await h.client(false);
    expect(await c.call(['/login', '=name=admin', '=password='], 'l')).toEqual([['!fatal', 'boom']]);
    await admin.call(['/simulator/fault/set', '=drop-next=1']);
    const c2 = await h.client(false);
    c2.send(['/login', '=name=admin', '=password=']);
    await c2.closedWithin();
    expect(c2.unread()).toEqual([]);
  });

  it('goes down for a while via down-for-ms', async () => {
    const admin = await h.client();
    const t0 = Date.now();
    await admin.call(['/simulator/fault/set', '=down-for-ms=200'], 'd');
    await admin.closedWithin();
    expect(await refused(h.sim.port)).toBe(true);
    await waitFor(async () => !(await refused(h.sim.port)), 5000, 'the simulator to accept connections again');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(195);
  });

  it('counts commands per path, in process and over /simulator/stats/print', async () => {
    const c = await h.client();
    await c.call(['/simulator/stats/reset']);
    await c.call(['/disk/print', '=count-only=']);
    await c.call(['/disk/print', '=count-only=']);
    await c.call(['/file/print']);
    expect(h.sim.stats()).toMatchObject({ '/disk/print': 2, '/file/print': 1 });
    const r = await c.call(['/simulator/stats/print'], 's');
    expect(r.map((s) => s[0])).toEqual(['!re', '!done']);
    expect(r.every((s) => tagOf(s) === 's')).toBe(true);
    expect(attrsOf(r[0])).toMatchObject({ '/disk/print': '2', '/file/print': '1' });
  });
});
