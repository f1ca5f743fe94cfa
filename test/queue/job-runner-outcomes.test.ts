import { status } from '@grpc/grpc-js';
import { Job, QueueEvents, UnrecoverableError, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Failure, type FailureKind } from '../../src/domain/failure';
import { statusOf } from '../../src/grpc/errors';
import { cappedBackoffStrategy } from '../../src/queue/backoff';
import { encodeJobFailure } from '../../src/queue/failure-codec';
import { JobRunner, OperationPending } from '../../src/queue/job-runner';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { JobProducer } from '../../src/queue/producer';
import { startQueueHarness, type QueueHarness } from '../support/queue-harness';

/**
 * JobRunner's answers, against a real Redis and a real BullMQ Worker: each job's data says what its processor does
 * (succeed with a value, fail permanently with a failure kind, fail transiently, or never finish), and each case checks
 * the gRPC answer, how many times the processor ran, and the job left in Redis.
 */
type Behaviour = { ok: number } | { kind: FailureKind } | { transient: true } | { hang: true };

describe('JobRunner outcomes', () => {
  const prefix = 'jr-outcomes';
  let h: QueueHarness;
  let conn: Redis;
  let queue: Queue;
  let events: QueueEvents;
  let runner: JobRunner;
  const runs = new Map<string, number>();
  const hanging: Array<() => void> = [];
  let n = 0;
  const nextId = (): string => `disk.create-jr${++n}-g1`;
  const run = (id: string, behaviour: Behaviour, waitMs = 15000, opts = {}): Promise<unknown> =>
    runner.run('disk.create', id, behaviour as never, waitMs, opts);
  const failure = (p: Promise<unknown>): Promise<Failure> =>
    p.then(
      (v) => {
        throw new Error(`resolved with ${JSON.stringify(v)}`);
      },
      (e: Failure) => e,
    );

  beforeAll(async () => {
    h = await startQueueHarness({
      prefix,
      policy: { attempts: 2, backoffMs: 10 },
      process: async (job: Job<Behaviour>) => {
        runs.set(job.id!, (runs.get(job.id!) ?? 0) + 1);
        const b = job.data;
        if ('ok' in b) return { sizeBytes: b.ok + (runs.get(job.id!) ?? 0) };
        if ('kind' in b) throw new UnrecoverableError(encodeJobFailure({ kind: b.kind, message: `refused ${job.id}` }));
        if ('transient' in b) throw new Error(`RDS unreachable ${job.id}`);
        await new Promise<void>((r) => hanging.push(r));
        return { sizeBytes: 0 };
      },
      worker: { concurrency: 4, settings: { backoffStrategy: cappedBackoffStrategy(20, 10) } },
    });
    ({ conn, queue, events, runner } = h);
  });
  afterAll(async () => {
    for (const r of hanging) r();
    await h.stop();
  });

  it('answers the result of a job that completes, and keeps it for later identical requests (not run again)', async () => {
    const id = nextId();
    await expect(run(id, { ok: 10 })).resolves.toEqual({ sizeBytes: 11 });
    await expect(run(id, { ok: 10 })).resolves.toEqual({ sizeBytes: 11 });
    expect(runs.get(id)).toBe(1);
    const job = await Job.fromId(queue, id);
    expect(job?.opts.attempts).toBe(2);
    expect(job?.opts.removeOnComplete).toEqual({ age: 24 * 3600, count: 50000 });
    expect(job?.opts.removeOnFail).toEqual({ age: 7 * 24 * 3600 });
  });

  it('fresh: a completed job is removed and run again', async () => {
    const id = nextId();
    await run(id, { ok: 10 });
    await expect(run(id, { ok: 10 }, 15000, { fresh: true })).resolves.toEqual({ sizeBytes: 12 });
    expect(runs.get(id)).toBe(2);
  });

  it('newId: adds without looking, and a job already under that id is still deduped by Redis', async () => {
    const id = nextId();
    await run(id, { ok: 10 });
    await expect(run(id, { ok: 10 }, 15000, { newId: true })).resolves.toBeDefined();
    expect(runs.get(id)).toBe(1);
  });

  it('a permanent failure answers the kind (and so the CSI code) the processor recorded, with its message', async () => {
    const id = nextId();
    const err = await failure(run(id, { kind: 'precondition' }));
    expect(err).toBeInstanceOf(Failure);
    expect(statusOf(err)).toBe(status.FAILED_PRECONDITION);
    expect(err.message).toContain(`refused ${id}`);
    expect(runs.get(id)).toBe(1);
  });

  it('transient failures until attempts run out answer UNAVAILABLE, naming the operation', async () => {
    const id = nextId();
    const err = await failure(run(id, { transient: true }));
    expect(statusOf(err)).toBe(status.UNAVAILABLE);
    expect(err.message).toContain(`disk.create failed after all retries: RDS unreachable ${id}`);
    expect(runs.get(id)).toBe(2);
    // The CO's retry of the failed job starts its counters afresh (attempts made and started), not at 2 of 2.
    await failure(run(id, { transient: true }));
    expect(runs.get(id)).toBe(4);
    const job = await Job.fromId(queue, id);
    expect(job?.attemptsMade).toBe(2);
    expect(job?.attemptsStarted).toBe(2);
  });

  it('a job still running after waitMs answers ABORTED (OperationPending); waitMs 0 enqueues without waiting', async () => {
    const id = nextId();
    const err = await failure(run(id, { hang: true }, 300));
    expect(err).toBeInstanceOf(OperationPending);
    expect(statusOf(err)).toBe(status.ABORTED);
    expect(err.message).toContain(`disk.create ${id}`);

    const id0 = nextId();
    const err0 = await failure(run(id0, { ok: 1 }, 0));
    expect(err0).toBeInstanceOf(OperationPending);
    expect(err0.message).toBe(`disk.create ${id0} is still in progress; retry the same request`);
    expect(await Job.fromId(queue, id0)).toBeDefined();
  });

  it('forget removes a finished job, so the next request runs it again', async () => {
    const id = nextId();
    await run(id, { ok: 10 });
    await runner.forget(id);
    expect(await Job.fromId(queue, id)).toBeUndefined();
    await runner.forget(id); // nothing there: no error
    await expect(run(id, { ok: 10 })).resolves.toEqual({ sizeBytes: 12 });
    expect(runs.get(id)).toBe(2);
  });

  it('fresh: a job still waiting is kept as it is (only a finished job is run again)', async () => {
    // A queue no worker serves: its jobs stay waiting.
    const idle = new QueueEvents(VOLUME_QUEUE, { connection: { url: h.redis.url }, prefix: `${prefix}-idle` });
    const producer = new JobProducer(conn, `${prefix}-idle`, { attempts: 1, backoffMs: 10 });
    const own = new JobRunner(producer, idle);
    try {
      const id = nextId();
      expect(await failure(own.run('disk.create', id, { ok: 10 } as never, 200))).toBeInstanceOf(OperationPending);
      const first = await Job.fromId(producer.queue, id);
      expect(await producer.queue.getJobState(id)).toBe('waiting');
      expect(await failure(own.run('disk.create', id, { ok: 20 } as never, 200, { fresh: true }))).toBeInstanceOf(OperationPending);
      const kept = await Job.fromId(producer.queue, id);
      expect([kept?.data, kept?.timestamp]).toEqual([{ ok: 10 }, first?.timestamp]);
    } finally {
      own.close();
      await idle.close();
      await producer.close();
    }
  });

  it('a caller whose wait ran out leaves the others of the same id waiting for its finish', async () => {
    await run(nextId(), { ok: 1 }); // the events stream is flowing: the waits rely on its events alone (job-waiter.ts)
    const id = nextId();
    const hung = hanging.length;
    const long = run(id, { hang: true });
    expect(await failure(run(id, { hang: true }, 300))).toBeInstanceOf(OperationPending);
    for (let i = 0; i < 500 && hanging.length === hung; i++) await new Promise((r) => setTimeout(r, 10));
    hanging.splice(hung, 1)[0]?.();
    await expect(long).resolves.toEqual({ sizeBytes: 0 });
  });

  it('an add that Redis/BullMQ refuses reaches the caller as its own error, at once (not a job failure, not a timeout)', async () => {
    // BullMQ refuses a custom id containing ':' before anything is written (Job.validateOptions).
    for (const newId of [false, true]) {
      const started = Date.now();
      const err = await failure(run(`disk.create-bad:id-${String(newId)}`, { ok: 1 }, 15000, { newId }));
      expect([err instanceof Failure, err.message]).toEqual([false, 'Custom Id cannot contain :']);
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });

  it('close fails the waits in progress at once with UNAVAILABLE', async () => {
    const own = new JobRunner(new JobProducer(conn, prefix, { attempts: 1, backoffMs: 10 }), events);
    const id = nextId();
    const pending = failure(own.run('disk.create', id, { hang: true } as never, 15000));
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    own.close();
    const err = await pending;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(statusOf(err)).toBe(status.UNAVAILABLE);
    expect(err.message).toContain('shutting down');
  });
});
