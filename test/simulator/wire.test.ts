/** The API wire protocol over real TCP: login, tags, traps, !empty, /cancel, /quit, framing. */
import { encodeSentence } from '../../src/simulator/protocol/codec';
import { attrsOf, tagOf } from '../support/wire-client';
import { waitFor } from '../support/wait';
import { startHarness, type SimHarness } from './helpers';

describe('simulator wire protocol', () => {
  let h: SimHarness;
  beforeAll(async () => {
    h = await startHarness({ user: 'admin', password: 'secret' });
  });
  afterAll(() => h.stop());
  afterEach(() => h.sim.faults.clear());

  it('logs in with !done and no attributes, echoing the tag', async () => {
    const c = await h.client(false);
    expect(await c.call(['/login', '=name=admin', '=password=secret'], 'a')).toEqual([['!done', '.tag=a']]);
  });

  it('answers bad credentials with the trap then !done, and stays logged out', async () => {
    const c = await h.client(false);
    expect(await c.call(['/login', '=name=admin', '=password=wrong'], 'x')).toEqual([
      ['!trap', '=message=invalid user name or password (6)', '.tag=x'],
      ['!done', '.tag=x'],
    ]);
    expect(await c.call(['/disk/print'], 'y')).toEqual([['!fatal', 'not logged in']]);
    await c.closed;
  });

  it('sends an untagged !fatal and closes for a command before login', async () => {
    const c = await h.client(false);
    expect(await c.call(['/disk/print', '.tag=t'], 't')).toEqual([['!fatal', 'not logged in']]);
    await c.closed;
    expect(c.isClosed).toBe(true);
  });

  it('answers /quit with !fatal session terminated on request', async () => {
    const c = await h.client();
    expect(await c.call(['/quit'], 'q')).toEqual([['!fatal', 'session terminated on request']]);
    await c.closed;
  });

  it('answers # with !done', async () => {
    const c = await h.client();
    expect(await c.call(['#'], 'k')).toEqual([['!done', '.tag=k']]);
    expect(await c.call(['#'])).toEqual([['!done']]);
  });

  it.each([
    ['/foo/print', 'foo'],
    ['/disk/bogus', 'bogus'],
    ['/disk/print/extra', 'extra'],
  ])('traps unknown command %s naming %s, then !done', async (cmd, word) => {
    const c = await h.client();
    expect(await c.call([cmd], 'u')).toEqual([
      ['!trap', '=category=0', `=message=no such command or directory (${word})`, '.tag=u'],
      ['!done', '.tag=u'],
    ]);
  });

  it('answers a zero-row print with !empty then !done in 7.18 mode (default)', async () => {
    const c = await h.client();
    expect(await c.call(['/disk/print', '?slot=missing'], 'e')).toEqual([
      ['!empty', '.tag=e'],
      ['!done', '.tag=e'],
    ]);
  });

  it('answers a zero-row print with !done alone in legacy mode', async () => {
    h.sim.faults.set({ emptyMode: 'legacy' });
    const c = await h.client();
    expect(await c.call(['/disk/print', '?slot=missing'], 'e')).toEqual([['!done', '.tag=e']]);
  });

  it('never sends !empty for count-only', async () => {
    const c = await h.client();
    expect(await c.call(['/disk/print', '=count-only=', '?slot=missing'], 'n')).toEqual([['!done', '=ret=0', '.tag=n']]);
  });

  it('interleaves replies of concurrent tagged commands by tag', async () => {
    const c = await h.client();
    h.sim.faults.set({ latencyMs: 30, jitterMs: 30 });
    const tags = Array.from({ length: 20 }, (_, i) => `t${i}`);
    for (const t of tags) c.send(['/system/resource/print', `.tag=${t}`]);
    const replies = await Promise.all(tags.map((t) => c.collect(t)));
    for (const [i, r] of replies.entries()) {
      expect(r.map((s) => s[0])).toEqual(['!re', '!done']);
      expect(r.every((s) => tagOf(s) === tags[i])).toBe(true);
    }
  });

  it('cancels a waiting command with interrupted (category 2) and answers /cancel with !done', async () => {
    const c = await h.client();
    h.sim.faults.set({ latencyMs: 400 });
    const printsBefore = h.sim.stats()['/disk/print'] ?? 0;
    c.send(['/disk/print', '.tag=slow']);
    // The simulator has received it (and waits out the 400 ms latency) before the latency is lifted.
    await waitFor(() => (h.sim.stats()['/disk/print'] ?? 0) > printsBefore, 5000, 'the simulator to receive the slow print');
    h.sim.faults.set({ latencyMs: 0 });
    expect(await c.call(['/cancel', '=tag=slow'], 'cx')).toEqual([['!done', '.tag=cx']]);
    expect(await c.collect('slow')).toEqual([
      ['!trap', '=category=2', '=message=interrupted', '.tag=slow'],
      ['!done', '.tag=slow'],
    ]);
    // Nothing more arrives for the cancelled tag.
    await new Promise((r) => setTimeout(r, 500));
    await expect(c.take((s) => tagOf(s) === 'slow', 50)).rejects.toThrow(/timeout/);
  });

  it('accepts .tag anywhere in the sentence and attributes whose value contains =', async () => {
    const c = await h.client();
    c.send(['/disk/print', '.tag=mid', '?slot=a=b']);
    expect(await c.collect('mid')).toEqual([
      ['!empty', '.tag=mid'],
      ['!done', '.tag=mid'],
    ]);
  });

  it('parses a request delivered one byte per write', async () => {
    const c = await h.client();
    const buf = encodeSentence(['/disk/print', '=.proplist=slot,type,' + 'x'.repeat(300), '?type=raid', '.tag=bb']);
    for (const b of buf) {
      c.sendRaw(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    const r = await c.collect('bb');
    expect(r.map((s) => s[0])).toEqual(['!re', '!done']);
    expect(attrsOf(r[0])).toEqual({ slot: 'pool', type: 'raid' });
  });

  it.each([0, 127, 128, 300, 16383, 16384, 2097151, 2097152])('round-trips a word of %d bytes (request and reply) over TCP', async (n) => {
    const c = await h.client();
    // `=comment=` + value: make the *word* exactly n bytes when n is large enough.
    const value = 'v'.repeat(Math.max(0, n - '=comment='.length));
    const add = await c.call(['/disk/add', '=type=file', `=slot=w${n}`, `=file-path=/pool/w${n}.img`, '=file-size=1M', `=comment=${value}`], 'a');
    expect(add[0][0]).toBe('!done');
    const id = attrsOf(add[0]).ret;
    const got = await c.call(['/disk/print', '=.proplist=.id,comment', `?.id=${id}`], 'p', 10000);
    const comment = attrsOf(got[0]).comment;
    expect(comment.length).toBe(value.length);
    expect(comment === value).toBe(true);
    await c.call(['/disk/remove', `=.id=${id}`]);
  });

  it('closes the connection on a reserved control byte, answering nothing', async () => {
    const c = await h.client();
    expect(await c.call(['#'], 'ok')).toEqual([['!done', '.tag=ok']]); // open and answering until now
    c.sendRaw(Buffer.from([0xf8, 0, 0, 0, 0]));
    await c.closedWithin();
    expect(c.unread()).toEqual([]);
  });

  it('fragments replies into tiny writes in chaos mode and the stream still decodes', async () => {
    const c = await h.client();
    h.sim.faults.set({ fragmentBytes: 1 });
    const r = await c.call(['/disk/print', '=.proplist=slot,type,' + 'x'.repeat(300), '?type=raid'], 'fr');
    expect(r).toEqual([
      ['!re', '=slot=pool', '=type=raid', '.tag=fr'],
      ['!done', '.tag=fr'],
    ]);
    expect(await c.call(['/quit'])).toEqual([['!fatal', 'session terminated on request']]);
    await c.closed;
  });

  it('closes a connection that sends an oversized sentence before login', async () => {
    const c = await h.client(false);
    c.sendRaw(encodeSentence(['/login', '=name=' + 'a'.repeat(100 * 1024)]).subarray(0, 80 * 1024));
    await c.closedWithin();
    expect(c.unread()).toEqual([]); // no answer to a sentence it never finished reading
  });
});
