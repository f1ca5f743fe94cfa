import { createHook } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueueEvents, UnrecoverableError, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { OperationPending, JobRunner } from '../../src/queue/job-runner';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { JobProducer } from '../../src/queue/producer';
import { startQueueHarness, type QueueHarness } from '../support/queue-harness';
import { traceCommands, type CommandTrace } from '../support/redis-monitor';
import { waitFor } from '../support/wait';

/**
 * What a wait costs besides its answer, against a real redis-server and a real BullMQ Worker: the round trips the
 * controller's connection sends for it (counted with MONITOR, as test/queue/redis-round-trips.test.ts does for a
 * whole create), and what it leaves behind once answered (its deadline timer, reads for an id nobody waits for).
 * The bounds are the promises of job-runner.ts / job-waiter.ts (a new id is added without a look; a finished job is
 * answered from its record; a wait looks only until the events stream is known to flow), not today's exact counts.
 */
type Behaviour = { ok: number } | { gate: string; fail?: boolean } | { sleepMs: number };

/**
 * Starts `events` reading and hands back its run once its connection blocks in XREAD (CLIENT LIST through `admin` shows
 * one more reader): from then on every event reaches it.
 */
async function startReading(events: QueueEvents, admin: Redis): Promise<{ run: Promise<void> }> {
  const readers = async (): Promise<number> => ((await admin.client('LIST')) as string).split('\n').filter((l) => / cmd=xread /.test(l)).length;
  const before = await readers();
  const run = events.run().catch(() => undefined);
  await waitFor(async () => (await readers()) > before, 10000, 'the late stream to block in XREAD');
  return { run };
}

describe('JobRunner / JobWaiter costs', () => {
  const prefix = 'jw-costs';
  let h: QueueHarness;
  let trace: CommandTrace;
  const gates = new Map<string, () => void>();
  let n = 0;
  const nextId = (): string => `disk.create-jwc${++n}-g1`;
  const run = (runner: JobRunner, id: string, b: Behaviour, waitMs = 15000, opts = {}): Promise<unknown> =>
    runner.run('disk.create', id, b as never, waitMs, opts);
  /**
   * The round trips the controller's connection (producer and look-ups share it) sent while `fn` ran; what `fn`
   * throws (an assertion in it) is thrown once they are counted.
   */
  async function sent(fn: () => Promise<unknown>, settleMs = 300): Promise<string[]> {
    const from = await trace.mark();
    let failed: { error: unknown } | undefined;
    await fn().catch((error: unknown) => (failed = { error }));
    await sleep(settleMs); // a look started just before the answer is counted too
    const to = await trace.mark();
    if (failed) throw failed.error;
    return trace.sentBy(h.conn, from, to).map((l) => l.args.slice(0, 4).join(' '));
  }
  /** A new id awaited on a stream known to flow: answered, with at most its add as a round trip (no look before or after). */
  async function expectAwaitedWithoutLook(runner: JobRunner, id: string, ok: number): Promise<void> {
    const cmds = await sent(() => expect(run(runner, id, { ok }, 15000, { newId: true })).resolves.toEqual({ sizeBytes: ok }));
    expect(cmds.length).toBeLessThanOrEqual(1);
  }
  /** A runner whose wait has seen no event yet (a fresh controller, a one-shot CLI). */
  const freshRunner = (events: QueueEvents = h.events): JobRunner => new JobRunner(h.producer, events);

  beforeAll(async () => {
    h = await startQueueHarness({
      prefix,
      policy: { attempts: 1, backoffMs: 10 },
      process: async (job: Job<Behaviour>) => {
        const b = job.data;
        if ('sleepMs' in b) await sleep(b.sleepMs);
        if ('gate' in b) {
          await new Promise<void>((r) => gates.set(b.gate, r));
          if (b.fail) throw new UnrecoverableError('refused on purpose');
        }
        return { sizeBytes: 'ok' in b ? b.ok : 1 };
      },
      worker: { concurrency: 4 },
    });
    // The shared runner's events stream is flowing: its waiter has heard an event.
    const heard = new Promise((r) => h.events.once('completed', r));
    await run(h.runner, nextId(), { ok: 1 });
    await heard;
    trace = await traceCommands(h.redis.url);
  });
  afterAll(async () => {
    trace?.stop(); // undefined when beforeAll failed: the harness is stopped all the same
    for (const open of gates.values()) open();
    await h?.stop();
  });

  it('newId on a flowing stream: the add is the only round trip (no look before it, none after)', async () => {
    const id = nextId();
    await expectAwaitedWithoutLook(h.runner, id, 5);
  });

  it('a request for a completed job is answered from its record: its state and its hash, no add', async () => {
    const id = nextId();
    await run(h.runner, id, { ok: 7 });
    const cmds = await sent(() => expect(run(h.runner, id, { ok: 8 })).resolves.toEqual({ sizeBytes: 7 }));
    expect(cmds.length).toBeLessThanOrEqual(2);
  });

  it.each([
    ['an id that may exist', false, 2],
    ['a new id', true, 1],
  ])('waitMs 0 for %s (newId %s): the enqueue alone, at most %i round trips', async (_what, newId, bound) => {
    const runner = freshRunner();
    try {
      const id = nextId();
      const cmds = await sent(async () =>
        expect(await run(runner, id, { ok: 1 }, 0, { newId }).catch((e: unknown) => e)).toBeInstanceOf(OperationPending),
      );
      expect([cmds.length <= bound, cmds]).toEqual([true, cmds]);
      await waitFor(() => h.queue.getJobState(id).then((s) => s === 'completed'), 10000, 'the job enqueued to run');
    } finally {
      runner.close();
    }
  });

  it('a wait before the stream is known to flow looks until it is, not for as long as the job runs', async () => {
    const runner = freshRunner();
    try {
      const cmds = await sent(() => expect(run(runner, nextId(), { sleepMs: 3000 })).resolves.toEqual({ sizeBytes: 1 }));
      // The state and the add, then a look or two until the job's 'added' event has been heard; polling every
      // LOOK_AGAIN_MS for the job's 3 s would be twelve more. The bound leaves room for an 'added' event heard
      // up to ~1 s late on a loaded machine.
      expect(cmds.length).toBeLessThanOrEqual(7);
    } finally {
      runner.close();
    }
  });

  it.each([
    ['completes', false],
    ['fails', true],
  ])('a wait whose job %s leaves no deadline timer behind', async (_what, fail) => {
    const WAIT_MS = 43_210; // distinctive: the one timer of this wait
    const timers: Array<{ _destroyed?: boolean }> = [];
    // Node's Timeout carries its delay (`_idleTimeout`) from construction and `_destroyed` once cleared or fired.
    const hook = createHook({
      init(_id, type, _trigger, resource: { _idleTimeout?: number; _destroyed?: boolean }) {
        if (type === 'Timeout' && resource._idleTimeout === WAIT_MS) timers.push(resource);
      },
    }).enable();
    try {
      const id = nextId();
      const answer = run(h.runner, id, { gate: id, fail }, WAIT_MS).catch((e: Error) => e.message);
      await waitFor(() => gates.get(id), 10000, 'the job to start');
      gates.get(id)?.();
      expect(await answer).toEqual(fail ? 'disk.create failed after all retries: refused on purpose; the request can be retried' : { sizeBytes: 1 });
    } finally {
      hook.disable();
    }
    expect(timers.length).toBeGreaterThan(0);
    expect(timers.map((t) => t._destroyed)).toEqual(timers.map(() => true));
  });

  it('a wait that ran out on a stream that never flows stops looking at its job', async () => {
    const silent = new QueueEvents(VOLUME_QUEUE, { connection: { url: h.redis.url }, prefix, autorun: false });
    const runner = freshRunner(silent);
    const id = nextId();
    try {
      expect(await run(runner, id, { gate: id }, 400).catch((e: unknown) => e)).toBeInstanceOf(OperationPending);
      await sleep(300); // a look already on its way when the wait ended
      const after = await sent(() => sleep(1000), 0);
      expect(after).toEqual([]);
    } finally {
      runner.close();
      gates.get(id)?.();
      await silent.close();
    }
  });

  it('an id whose waits are over costs no read when another controller adds it again', async () => {
    const id = nextId();
    await run(h.runner, id, { ok: 3 });
    const other = new Redis(h.redis.url, { maxRetriesPerRequest: null });
    const otherProducer = new JobProducer(other, prefix, { attempts: 1, backoffMs: 10 });
    try {
      const cmds = await sent(async () => {
        const duplicated = new Promise<void>((resolve) => {
          const on = ({ jobId }: { jobId: string }): void => {
            if (jobId !== id) return;
            h.events.off('duplicated', on);
            resolve();
          };
          h.events.on('duplicated', on);
        });
        await otherProducer.add('disk.create', { ok: 4 } as never, id);
        await duplicated;
      });
      expect(cmds).toEqual([]);
    } finally {
      await otherProducer.close();
      other.disconnect();
    }
  });

  it.each([
    ['completed', false],
    ['failed', true],
  ])('a "%s" event alone tells the waiter its stream flows: the next new id is awaited without a look', async (_what, fail) => {
    // A stream that starts reading after the job's 'added' event: the first event it delivers is the finish.
    const late = new QueueEvents(VOLUME_QUEUE, { connection: { url: h.redis.url }, prefix, autorun: false });
    const runner = freshRunner(late);
    const admin = new Redis(h.redis.url, { maxRetriesPerRequest: 1 });
    const id = nextId();
    let reading: Promise<void> | undefined;
    try {
      const first = run(runner, id, { gate: id, fail }).catch((e: Error) => e.message);
      await waitFor(() => gates.get(id), 10000, 'the job to start');
      reading = (await startReading(late, admin)).run;
      gates.get(id)?.();
      await first;
      await expectAwaitedWithoutLook(runner, nextId(), 2);
    } finally {
      runner.close();
      await late.close();
      await reading;
      admin.disconnect();
    }
  });

  it('a "duplicated" event alone (another controller re-adding a finished job) tells the waiter its stream flows', async () => {
    const done = nextId();
    await run(h.runner, done, { ok: 1 });
    const late = new QueueEvents(VOLUME_QUEUE, { connection: { url: h.redis.url }, prefix, autorun: false });
    const runner = freshRunner(late);
    const other = new Redis(h.redis.url, { maxRetriesPerRequest: null });
    const otherProducer = new JobProducer(other, prefix, { attempts: 1, backoffMs: 10 });
    let reading: Promise<void> | undefined;
    try {
      await expect(run(runner, done, { ok: 1 })).resolves.toEqual({ sizeBytes: 1 }); // its waiter exists, not flowing
      reading = (await startReading(late, other)).run;
      const duplicated = new Promise((r) => late.once('duplicated', r));
      await otherProducer.add('disk.create', { ok: 1 } as never, done);
      await duplicated;
      await expectAwaitedWithoutLook(runner, nextId(), 2);
    } finally {
      runner.close();
      await late.close();
      await reading;
      await otherProducer.close();
      other.disconnect();
    }
  });
});
