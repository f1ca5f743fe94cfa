import type * as grpc from '@grpc/grpc-js';
import { loadCsi } from '../../src/grpc/proto';
import { DEFAULT_STARTS_PER_TURN, buildHandlers } from '../../src/grpc/service';
import { StartPacer } from '../../src/grpc/start-pacer';
import { createLogger } from '../../src/log/logger';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('StartPacer', () => {
  it.each([
    [40, 16],
    [16, 16],
    [5, 16],
    [33, 1],
  ])('%i starts in one turn, %i per turn: in arrival order, at most perTurn per turn, all of them', async (n, perTurn) => {
    const pacer = new StartPacer(perTurn);
    const started: number[] = [];
    const turnOf: number[] = [];
    let turn = 0;
    for (let i = 0; i < n; i++) pacer.run(() => (started.push(i), turnOf.push(turn)));
    expect(started).toEqual(Array.from({ length: Math.min(n, perTurn) }, (_, i) => i));
    expect(pacer.pending).toBe(Math.max(0, n - perTurn));
    while (started.length < n) {
      turn++;
      await nextTurn();
    }
    expect(started).toEqual(Array.from({ length: n }, (_, i) => i));
    for (let t = 0; t <= turn; t++) expect(turnOf.filter((x) => x === t).length).toBeLessThanOrEqual(perTurn);
    expect(pacer.pending).toBe(0);
  });

  it('a request that arrives while earlier ones wait waits behind them, even in a fresh turn', async () => {
    const pacer = new StartPacer(2);
    const started: string[] = [];
    for (const x of ['a', 'b', 'c', 'd', 'e']) pacer.run(() => started.push(x));
    await nextTurn(); // c, d start
    pacer.run(() => started.push('f')); // e still waits: f goes after it
    await nextTurn();
    await nextTurn();
    expect(started).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('beyond maxWaiting a request starts at once (bounded: never an unbounded queue)', () => {
    const pacer = new StartPacer(1, 3);
    const started: number[] = [];
    for (let i = 0; i < 6; i++) pacer.run(() => started.push(i));
    expect(started).toEqual([0, 4, 5]);
    expect(pacer.pending).toBe(3);
  });

  it('refuses a per-turn count that is not a positive integer', () => {
    expect(() => new StartPacer(0)).toThrow(/positive integer/);
  });
});

describe('buildHandlers paces a burst (issue 14 storm: the first requests reach their job add before the last start)', () => {
  it('the first request of a burst of 64 resumes after its I/O before the 64th starts; every request is answered', async () => {
    const events: string[] = [];
    const impl = {
      CreateVolume: async (req: { name: string }) => {
        events.push(`start ${req.name}`);
        await nextTurn(); // its first Redis round trip
        events.push(`resumed ${req.name}`);
        return { volume: { volumeId: req.name } };
      },
    };
    const svc = loadCsi().csi.v1.Controller.service;
    const handlers = buildHandlers(svc, 'Controller', impl, createLogger('silent'));
    const handle = handlers.CreateVolume as grpc.handleUnaryCall<{ name: string }, unknown>;
    const answers: Array<Promise<unknown>> = [];
    // One burst: grpc-js calls every handler of requests that arrived together in one run of the microtask queue.
    for (let i = 0; i < 64; i++) {
      const call = { request: { name: `v${i}` }, getDeadline: () => Infinity } as unknown as grpc.ServerUnaryCall<{ name: string }, unknown>;
      answers.push(new Promise((resolve, reject) => handle(call, (err, res) => (err ? reject(new Error(String(err.details))) : resolve(res)))));
    }
    const results = await Promise.all(answers);
    expect(results).toEqual(Array.from({ length: 64 }, (_, i) => ({ volume: { volumeId: `v${i}` } })));
    expect(events.indexOf('resumed v0')).toBeLessThan(events.indexOf('start v63'));
    // At most DEFAULT_STARTS_PER_TURN started before the first one resumed.
    expect(events.slice(0, events.indexOf('resumed v0')).filter((e) => e.startsWith('start')).length).toBeLessThanOrEqual(
      2 * DEFAULT_STARTS_PER_TURN,
    );
  });
});
