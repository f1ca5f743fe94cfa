import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { forkIpc, type IpcChild } from './ipc-child';
import { sleep, summarize, type Summary } from './stats';

export interface FloorOptions {
  /** Idle time before each job, ms: 0 = back to back (every process hot); see cold-floors.ts for why it matters. */
  gapMs?: number;
  /** Where the no-op worker runs: in this process (the default), or in a process of its own as `rds-csi worker`. */
  worker?: 'here' | 'child';
  /** Directory for the child's loop-probe report. */
  dir?: string;
}

/**
 * The floor of one BullMQ job on this machine: add a job with a no-op processor and await its completion through
 * QueueEvents (what JobRunner.run does), nothing else running. CreateVolume runs one such job, so this is the least
 * the queue can add, before gRPC, the record and the lease.
 */
export async function bullmqFloor(redisUrl: string, n: number, o: FloorOptions = {}): Promise<Summary> {
  const conn = (): Redis => new Redis(redisUrl, { maxRetriesPerRequest: null });
  const prefix = 'bench-floor';
  const name = `floor-${o.worker ?? 'here'}-${o.gapMs ?? 0}`;
  const c1 = conn();
  const c2 = conn();
  const queue = new Queue(name, { connection: c1, prefix });
  const events = new QueueEvents(name, { connection: c2, prefix, autorun: true });
  let worker: Worker | undefined;
  let child: IpcChild | undefined;
  const c3 = conn();
  if (o.worker === 'child') child = (await forkIpc('noop-worker', [redisUrl, name, prefix], o.dir ?? '/tmp')).child;
  else worker = new Worker(name, () => Promise.resolve({ ok: true }), { connection: c3, prefix, concurrency: 32, autorun: true });
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker?.waitUntilReady()]);
    const times: number[] = [];
    for (let i = 0; i < n + 20; i++) {
      if (o.gapMs) await sleep(o.gapMs);
      const t = process.hrtime.bigint();
      const job = await queue.add('noop', { i }, { jobId: `floor-${i}` });
      await job.waitUntilFinished(events, 10000);
      if (i >= 20) times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return summarize(times);
  } finally {
    await worker?.close();
    await child?.close();
    await events.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    for (const c of [c1, c2, c3]) c.disconnect();
  }
}
