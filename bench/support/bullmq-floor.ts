import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { summarize, type Summary } from './stats';

/**
 * The floor of one BullMQ job on this machine: add a job with a no-op processor and await its completion through
 * QueueEvents (what JobRunner.run does), worker in this same process, nothing else running. CreateVolume runs two
 * such jobs in sequence, so twice this is the least the queue can add, before gRPC, the record and the lease.
 */
export async function bullmqFloor(redisUrl: string, n: number): Promise<Summary> {
  const conn = (): Redis => new Redis(redisUrl, { maxRetriesPerRequest: null });
  const prefix = 'bench-floor';
  const c1 = conn();
  const c2 = conn();
  const c3 = conn();
  const queue = new Queue('floor', { connection: c1, prefix });
  const events = new QueueEvents('floor', { connection: c2, prefix, autorun: true });
  const worker = new Worker('floor', () => Promise.resolve({ ok: true }), { connection: c3, prefix, concurrency: 32, autorun: true });
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
    const times: number[] = [];
    for (let i = 0; i < n + 20; i++) {
      const t = process.hrtime.bigint();
      const job = await queue.add('noop', { i }, { jobId: `floor-${i}` });
      await job.waitUntilFinished(events, 10000);
      if (i >= 20) times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return summarize(times);
  } finally {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    for (const c of [c1, c2, c3]) c.disconnect();
  }
}
