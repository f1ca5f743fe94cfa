import { status } from '@grpc/grpc-js';
import { Job, QueueEvents, Worker, type Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { cappedBackoffStrategy } from '../../src/queue/backoff';
import { JobRunner } from '../../src/queue/job-runner';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { JobProducer } from '../../src/queue/producer';
import { Failure } from '../../src/domain/failure';
import { statusOf } from '../../src/grpc/errors';
import { startRedis, type TestRedis } from '../support/redis';

/**
 * JobRunner against a real Redis and a real BullMQ Worker whose processor fails on purpose (a stand-in for RDS
 * being down): a failed job retried by a new RPC starts a fresh set of attempts (issue 11 item 10).
 */
describe('JobRunner retry of a failed job', () => {
  const ATTEMPTS = 3;
  const prefix = 'jr-test';
  let redis: TestRedis;
  let conn: Redis;
  let workerConn: Redis;
  let producer: JobProducer;
  let queue: Queue;
  let events: QueueEvents;
  let worker: Worker;
  let failing = true;
  const seen: number[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    workerConn = new Redis(redis.url, { maxRetriesPerRequest: null });
    producer = new JobProducer(conn, prefix, { attempts: ATTEMPTS, backoffMs: 10 });
    queue = producer.queue;
    events = new QueueEvents(VOLUME_QUEUE, { connection: { url: redis.url }, prefix });
    await events.waitUntilReady();
    worker = new Worker(
      VOLUME_QUEUE,
      (job) => {
        seen.push(job.attemptsMade + 1);
        return failing ? Promise.reject(new Error('RDS unreachable (test)')) : Promise.resolve({ sizeBytes: 1 });
      },
      { connection: workerConn, prefix, settings: { backoffStrategy: cappedBackoffStrategy(50, 10) } },
    );
    await worker.waitUntilReady();
  });
  afterAll(async () => {
    await worker.close();
    await events.close();
    await queue.close();
    conn.disconnect();
    workerConn.disconnect();
    await redis.stop();
  });

  it('gives the job its whole attempt budget again, counted from one', async () => {
    const runner = new JobRunner(producer, events);
    const data = { volumeId: 'v1', slot: 'v1', filePath: '/pool/v1.img', sizeBytes: 1 };
    const run = (): Promise<unknown> => runner.run('disk.create', 'disk.create-v1-g1', data, 15000);

    const first = await run().catch((e: unknown) => e);
    expect(first).toBeInstanceOf(Failure);
    expect(statusOf(first)).toBe(status.UNAVAILABLE);
    expect(seen).toEqual([1, 2, 3]);
    expect((await Job.fromId(queue, 'disk.create-v1-g1'))?.attemptsMade).toBe(ATTEMPTS);

    // The CO's next call: still failing, the job runs all its attempts again (not a single last one).
    expect(statusOf(await run().catch((e: unknown) => e))).toBe(status.UNAVAILABLE);
    expect(seen).toEqual([1, 2, 3, 1, 2, 3]);
    expect((await Job.fromId(queue, 'disk.create-v1-g1'))?.attemptsMade).toBe(ATTEMPTS);

    // RDS is back: the next call's run succeeds on its first attempt.
    failing = false;
    await expect(run()).resolves.toEqual({ sizeBytes: 1 });
    expect(seen).toEqual([1, 2, 3, 1, 2, 3, 1]);
  }, 30000);
});
