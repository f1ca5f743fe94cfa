import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { CAPPED_BACKOFF } from '../../src/queue/backoff';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { JOB_CLASS_OPTIONS, JobProducer, defaultJobOptions } from '../../src/queue/producer';
import { startRedis, type TestRedis } from '../support/redis';

/**
 * The one producer (issue 13 item 4) against a real redis-server, no worker: the job options are the Queue's
 * defaultJobOptions, set once from the retry policy, and every job added through it carries them as stored by
 * BullMQ; the few job classes that differ differ only as the JOB_CLASS_OPTIONS table says.
 */
describe('JobProducer', () => {
  const policy = { attempts: 7, backoffMs: 123 };
  let server: TestRedis;
  let redis: Redis;
  let n = 0;
  const open: JobProducer[] = [];
  const fresh = (): JobProducer => {
    const p = new JobProducer(redis, `prod${++n}`, policy);
    open.push(p);
    return p;
  };
  /** The options of a job as stored in Redis (read back through a Queue that has no defaults of its own). */
  async function stored(p: JobProducer, id: string): Promise<Job['opts']> {
    const reader = new Queue(VOLUME_QUEUE, { connection: redis, prefix: p.queue.opts.prefix });
    try {
      const job = await Job.fromId(reader, id);
      if (!job) throw new Error(`job ${id} not stored`);
      return job.opts;
    } finally {
      await reader.close();
    }
  }

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    for (const p of open) await p.close();
    redis.disconnect();
    await server.stop();
  });

  it('sets the options once, on the Queue, from the retry policy', () => {
    const p = fresh();
    expect(p.queue.name).toBe(VOLUME_QUEUE);
    expect(p.queue.defaultJobOptions).toEqual(defaultJobOptions(policy));
    expect(defaultJobOptions(policy)).toEqual({
      attempts: 7,
      backoff: { type: CAPPED_BACKOFF, delay: 123 },
      removeOnComplete: { age: 24 * 3600, count: 50000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
  });

  it.each(['request', 'once', 'startup'] as const)('a %s job is stored with the defaults overlaid by its class only', async (cls) => {
    const p = fresh();
    await p.add('disk.create', { volumeId: 'v1', slot: 'v1', filePath: '/pool/v1.img', sizeBytes: 1 }, `id-${cls}`, { class: cls });
    expect(await stored(p, `id-${cls}`)).toMatchObject({ ...defaultJobOptions(policy), ...JOB_CLASS_OPTIONS[cls] });
  });

  it('the class table: only the documented differences from the default', () => {
    expect(JOB_CLASS_OPTIONS).toEqual({
      request: {},
      once: { removeOnComplete: true, removeOnFail: { age: 24 * 3600 } },
      startup: { attempts: 1, removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } },
      scheduled: { attempts: 1, removeOnComplete: false, removeOnFail: false },
    });
  });

  it('adds under the deterministic id once: a second add of the id keeps the first job', async () => {
    const p = fresh();
    const first = await p.add('disk.expand', { volumeId: 'v1', slot: 'v1', sizeBytes: 1 }, 'disk.expand-v1-g1');
    const second = await p.add('disk.expand', { volumeId: 'v1', slot: 'v1', sizeBytes: 2 }, 'disk.expand-v1-g1');
    expect(second.id).toBe(first.id);
    expect((await p.queue.getJobCounts('waiting')).waiting).toBe(1);
    expect((await Job.fromId(p.queue, 'disk.expand-v1-g1'))?.data).toEqual({ volumeId: 'v1', slot: 'v1', sizeBytes: 1 });
  });

  it('a delayed job waits as delayed and can be removed before it runs', async () => {
    const p = fresh();
    await p.add('migration.timeout', { volumeId: 'v1', startedAt: 1 }, 'migration.timeout-v1-1', { delay: 60000 });
    const job = await Job.fromId(p.queue, 'migration.timeout-v1-1');
    expect(await job?.getState()).toBe('delayed');
    expect(job?.opts).toMatchObject({ delay: 60000, attempts: 7 });
    await p.remove('migration.timeout-v1-1');
    expect(await Job.fromId(p.queue, 'migration.timeout-v1-1')).toBeUndefined();
    await p.remove('migration.timeout-v1-1'); // absent: nothing to do, no error
  });

  it('schedules a reconciler once however often it is asked, with the scheduled class', async () => {
    const p = fresh();
    await p.schedule('reconcile.orphans', 60000);
    await p.schedule('reconcile.orphans', 30000);
    const schedulers = await p.queue.getJobSchedulers();
    expect(schedulers.map((s) => [s.key, s.every])).toEqual([['reconcile.orphans', 30000]]);
    const [next] = await p.queue.getJobs(['delayed', 'waiting']);
    expect(next?.name).toBe('reconcile.orphans');
    expect(next?.data).toEqual({ volumeId: '' });
    expect(next?.opts).toMatchObject({ attempts: 1, removeOnComplete: false, removeOnFail: false });
  });

  it('re-scheduling an unchanged reconciler (the worker’s tick) keeps its one pending run, at the same time', async () => {
    const p = fresh();
    await p.schedule('reconcile.orphans', 60000, 'b');
    // A scheduler's run is `repeat:<scheduler>:<its time in ms>` (bullmq addJobScheduler-11.lua): the id is the time.
    const pending = async () => (await p.queue.getJobs(['delayed', 'waiting'])).map((j) => j.id);
    const first = { next: (await p.queue.getJobScheduler('reconcile.orphans@b'))?.next, jobs: await pending() };
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 5));
      await p.schedule('reconcile.orphans', 60000, 'b');
    }
    expect(first.jobs).toHaveLength(1);
    expect({ next: (await p.queue.getJobScheduler('reconcile.orphans@b'))?.next, jobs: await pending() }).toEqual(first);
  });
});
