import { Job, QueueEvents, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { JobRunner } from '../../src/queue/job-runner';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { JobProducer } from '../../src/queue/producer';
import { startRedis, type TestRedis } from '../support/redis';

/**
 * A wait made before the events stream's first XREAD (a one-shot CLI such as `rds-csi volumes detach`, or a controller's
 * first RPCs): QueueEvents reads from '$' only once CLIENT SETNAME has answered, after waitUntilReady. A job still
 * active at the wait's first look that finishes before that first XREAD sends no event this process will ever see;
 * the wait must still end with the job's result, not at its deadline (the clean-clone CI of round 5 saw the CLI sit
 * past the test's 30 s on exactly this). The gap is made wide here: the stream starts reading only after the job has
 * finished.
 */
describe('JobWaiter before the events stream reads', () => {
  const prefix = 'jw-first-read';
  let redis: TestRedis;
  let conn: Redis;
  let workerConn: Redis;
  let worker: Worker;

  beforeAll(async () => {
    redis = await startRedis();
    conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    workerConn = new Redis(redis.url, { maxRetriesPerRequest: null });
    // A job whose id says "refused" fails (permanently) instead.
    const process = (job: Job): Promise<unknown> =>
      new Promise((resolve, reject) =>
        setTimeout(() => (job.id?.includes('refused') ? reject(new UnrecoverableError('refused on purpose')) : resolve({ sizeBytes: 7 })), 300),
      );
    worker = new Worker(VOLUME_QUEUE, process, {
      connection: workerConn,
      prefix,
    });
    await worker.waitUntilReady();
  });
  afterAll(async () => {
    await worker.close();
    conn.disconnect();
    workerConn.disconnect();
    await redis.stop();
  });

  it.each([
    ['a job this call adds', false, false],
    ['a job added under a fresh id (no look-up before the add)', true, false],
    ['a job this call adds, failing', false, true],
  ])(
    '%s that finishes before the first XREAD: its result, long before the deadline',
    async (_what, newId, refused) => {
      const producer = new JobProducer(conn, prefix, { attempts: 1, backoffMs: 10 });
      const events = new QueueEvents(VOLUME_QUEUE, { connection: { url: redis.url }, prefix, autorun: false });
      let reading: Promise<void> | undefined;
      const finished = new Promise<void>((resolve) => {
        worker.once('completed', () => resolve());
        worker.once('failed', () => resolve());
      });
      // The stream starts reading 200 ms after the job finished: its 'completed' event is behind '$'.
      void finished.then(() =>
        setTimeout(() => {
          reading = events.run().catch(() => undefined);
        }, 200),
      );
      const runner = new JobRunner(producer, events);
      const id = `disk.create-first-read-${String(newId)}${refused ? '-refused' : ''}`;
      const started = Date.now();
      try {
        const result = await runner
          .run('disk.create', id, { volumeId: 'v', slot: 'v', filePath: '/pool/v.img', sizeBytes: 7 }, 8000, { newId })
          .catch((e: Error) => e.message);
        // A failure is answered as its failure (job-runner.ts toFailure), not as "still in progress" at the deadline.
        expect(result).toEqual(refused ? 'disk.create failed after all retries: refused on purpose; the request can be retried' : { sizeBytes: 7 });
        expect(Date.now() - started).toBeLessThan(4000);
      } finally {
        runner.close();
        await finished;
        await new Promise((r) => setTimeout(r, 250));
        await events.close();
        await reading;
        await producer.close();
      }
    },
    20000,
  );
});
