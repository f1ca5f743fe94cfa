/**
 * A JobRunner over a real redis-server with an in-process BullMQ Worker standing in for the processors: the set-up
 * the queue unit tests share (no driver process). `stop()` closes everything it opened, so jest exits by itself.
 */
import { QueueEvents, Worker, type Job, type Queue, type WorkerOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { RetryPolicy } from '../../src/queue/backoff';
import { JobRunner } from '../../src/queue/job-runner';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { JobProducer } from '../../src/queue/producer';
import { startRedis, type TestRedis } from './redis';

export interface QueueHarness {
  redis: TestRedis;
  /** The producer's connection, for more producers or look-ups in the same Redis. */
  conn: Redis;
  producer: JobProducer;
  queue: Queue;
  events: QueueEvents;
  worker: Worker;
  runner: JobRunner;
  stop(): Promise<void>;
}

export async function startQueueHarness(opts: {
  prefix: string;
  policy: RetryPolicy;
  process: (job: Job) => Promise<unknown>;
  worker?: Partial<WorkerOptions>;
}): Promise<QueueHarness> {
  const redis = await startRedis();
  const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const workerConn = new Redis(redis.url, { maxRetriesPerRequest: null });
  const producer = new JobProducer(conn, opts.prefix, opts.policy);
  const events = new QueueEvents(VOLUME_QUEUE, { connection: { url: redis.url }, prefix: opts.prefix });
  await events.waitUntilReady();
  const worker = new Worker(VOLUME_QUEUE, opts.process, { ...opts.worker, connection: workerConn, prefix: opts.prefix });
  await worker.waitUntilReady();
  const runner = new JobRunner(producer, events);
  return {
    redis,
    conn,
    producer,
    queue: producer.queue,
    events,
    worker,
    runner,
    async stop() {
      runner.close();
      await worker.close();
      await events.close();
      await producer.close();
      conn.disconnect();
      workerConn.disconnect();
      await redis.stop();
    },
  };
}
