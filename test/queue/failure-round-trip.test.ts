import { status } from '@grpc/grpc-js';
import { Queue, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { FAILURE_KINDS, Failure } from '../../src/domain/failure';
import { statusOf } from '../../src/grpc/errors';
import { cappedBackoffStrategy } from '../../src/queue/backoff';
import { JobRunner } from '../../src/queue/job-runner';
import { JobProducer } from '../../src/queue/producer';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { toJobFailure } from '../../src/workers/failure';
import { startRedis, type TestRedis } from '../support/redis';

/**
 * A Failure raised in a worker reaches the controller's JobRunner through a real Redis and a real BullMQ Worker
 * with its kind and message intact (src/queue/failure-codec.ts), and a job failed by a worker of an earlier version
 * (`[CODE] message`) keeps its code during a rolling upgrade.
 */
describe('a Failure across the job queue', () => {
  const prefix = 'failure-rt';
  let redis: TestRedis;
  let conn: Redis;
  let workerConn: Redis;
  let queue: Queue;
  let events: QueueEvents;
  let worker: Worker;
  let runner: JobRunner;
  /** What the processor throws next, by job id. */
  const raise = new Map<string, () => unknown>();

  beforeAll(async () => {
    redis = await startRedis();
    conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    workerConn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const producer = new JobProducer(conn, prefix, { attempts: 2, backoffMs: 10 });
    queue = producer.queue;
    events = new QueueEvents(VOLUME_QUEUE, { connection: { url: redis.url }, prefix });
    await events.waitUntilReady();
    worker = new Worker(
      VOLUME_QUEUE,
      (job) => {
        const thrown = raise.get(job.id ?? '')?.();
        // What worker-host does with a processor's error.
        return Promise.reject(thrown instanceof UnrecoverableError ? thrown : toJobFailure(thrown).error);
      },
      { connection: workerConn, prefix, settings: { backoffStrategy: cappedBackoffStrategy(20, 10) } },
    );
    await worker.waitUntilReady();
    runner = new JobRunner(producer, events);
  });
  afterAll(async () => {
    runner.close();
    await worker.close();
    await events.close();
    await queue.close();
    conn.disconnect();
    workerConn.disconnect();
    await redis.stop();
  });

  const data = { volumeId: 'v1', slot: 'v1', filePath: '/pool/v1.img', sizeBytes: 1 };
  const failureOf = (id: string, thrown: () => unknown): Promise<unknown> => {
    raise.set(id, thrown);
    return runner.run('disk.create', id, data, 15000).then(
      () => new Error('the job succeeded'),
      (e: unknown) => e,
    );
  };

  // Transient kinds are retried by the queue; after the attempts they answer UNAVAILABLE (below).
  const permanent = FAILURE_KINDS.filter((k) => !new Failure(k, '').transient);

  it.each(permanent)('kind %s keeps its kind and message', async (kind) => {
    const message = `refusing [${kind}] "pvc-1": {"not": "a prefix"}\nline 2`;
    const err = await failureOf(`rt-${kind}`, () => new Failure(kind, message));
    expect(err).toBeInstanceOf(Failure);
    expect({ kind: (err as Failure).kind, message: (err as Failure).message }).toEqual({ kind, message });
  });

  it('a transient failure is retried, then answered UNAVAILABLE with its last message', async () => {
    const err = await failureOf('rt-transient', () => new Failure('unavailable', 'RDS unreachable (test)'));
    expect(statusOf(err)).toBe(status.UNAVAILABLE);
    expect((err as Error).message).toBe('disk.create failed after all retries: RDS unreachable (test); the request can be retried');
  });

  it.each<[string, status, string]>([
    ['[NOT_FOUND] disk v1 does not exist on RDS', status.NOT_FOUND, 'disk v1 does not exist on RDS'],
    ['[RESOURCE_EXHAUSTED] pool full', status.RESOURCE_EXHAUSTED, 'pool full'],
    ['[ALREADY_EXISTS] exists', status.ALREADY_EXISTS, 'exists'],
    ['[NO_SUCH_CODE] odd', status.UNAVAILABLE, 'disk.create failed after all retries: odd; the request can be retried'],
  ])('a job an older worker failed with "%s" keeps its code', async (reason, code, message) => {
    const err = await failureOf(`legacy-${code}-${reason.length}`, () => new UnrecoverableError(reason));
    expect(err).toBeInstanceOf(Failure);
    expect({ code: statusOf(err), message: (err as Error).message }).toEqual({ code, message });
  });
});
