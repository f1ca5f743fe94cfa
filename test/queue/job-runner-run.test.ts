import { status } from '@grpc/grpc-js';
import { Job } from 'bullmq';
import { statusOf } from '../../src/grpc/errors';
import type { JobRunner } from '../../src/queue/job-runner';
import type { DiskExpandData } from '../../src/queue/jobs';
import type { JobProducer } from '../../src/queue/producer';
import { startQueueHarness, type QueueHarness } from '../support/queue-harness';

/**
 * JobRunner's enqueue-and-await (issue 13 item 9) with a real queue and an in-process BullMQ Worker standing in
 * for the processors, no driver process: a job runs once per id however many callers wait for it, a finished job
 * answers the next caller without running again (unless the caller asks for a fresh run), a caller that cannot
 * wait gets ABORTED with the job enqueued, and the job carries the producer's options.
 */
describe('JobRunner.run', () => {
  let h: QueueHarness;
  let producer: JobProducer;
  let runner: JobRunner;
  const prefix = 'jrr';
  const runs: string[] = [];
  let gate: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    h = await startQueueHarness({
      prefix,
      policy: { attempts: 4, backoffMs: 10 },
      process: async (job: Job<DiskExpandData>) => {
        runs.push(job.id ?? '');
        await gate;
        return { sizeBytes: job.data.sizeBytes };
      },
      worker: { concurrency: 4 },
    });
    ({ producer, runner } = h);
  });
  afterAll(() => h.stop());
  beforeEach(() => {
    runs.length = 0;
    gate = Promise.resolve();
  });

  const expand = (id: string, sizeBytes: number): DiskExpandData => ({ volumeId: id, slot: id, sizeBytes });

  it("enqueues under the id with the producer's options and answers with the job's result", async () => {
    await expect(runner.run('disk.expand', 'disk.expand-a-g1', expand('a', 5), 15000)).resolves.toEqual({ sizeBytes: 5 });
    expect(runs).toEqual(['disk.expand-a-g1']);
    expect((await Job.fromId(producer.queue, 'disk.expand-a-g1'))?.opts).toMatchObject({
      attempts: 4,
      removeOnComplete: { age: 24 * 3600, count: 50000 },
    });
  });

  it('callers of one id share one run', async () => {
    let open!: () => void;
    gate = new Promise<void>((r) => (open = r));
    const first = runner.run('disk.expand', 'disk.expand-b-g1', expand('b', 7), 15000);
    const second = runner.run('disk.expand', 'disk.expand-b-g1', expand('b', 7), 15000);
    for (let i = 0; i < 200 && runs.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    open();
    await expect(Promise.all([first, second])).resolves.toEqual([{ sizeBytes: 7 }, { sizeBytes: 7 }]);
    expect(runs).toEqual(['disk.expand-b-g1']);
  });

  it('a finished job answers the next caller without running again; `fresh` runs it again', async () => {
    await runner.run('disk.expand', 'disk.expand-c-g1', expand('c', 1), 15000);
    await expect(runner.run('disk.expand', 'disk.expand-c-g1', expand('c', 2), 15000)).resolves.toEqual({ sizeBytes: 1 });
    expect(runs).toEqual(['disk.expand-c-g1']);
    await expect(runner.run('disk.expand', 'disk.expand-c-g1', expand('c', 2), 15000, { fresh: true })).resolves.toEqual({ sizeBytes: 2 });
    expect(runs).toEqual(['disk.expand-c-g1', 'disk.expand-c-g1']);
  });

  it('a caller with no time to wait gets ABORTED, and the job is enqueued all the same', async () => {
    let open!: () => void;
    gate = new Promise<void>((r) => (open = r));
    const err = await runner.run('disk.expand', 'disk.expand-d-g1', expand('d', 3), 0).catch((e: unknown) => e);
    expect(statusOf(err)).toBe(status.ABORTED);
    expect(await Job.fromId(producer.queue, 'disk.expand-d-g1')).toBeDefined();
    open();
    await expect(runner.run('disk.expand', 'disk.expand-d-g1', expand('d', 3), 15000)).resolves.toEqual({ sizeBytes: 3 });
    expect(runs).toEqual(['disk.expand-d-g1']);
  });

  it('forget removes a finished job, so the next request under the id runs afresh', async () => {
    await runner.run('disk.expand', 'disk.expand-e-g1', expand('e', 1), 15000);
    await runner.forget('disk.expand-e-g1');
    expect(await Job.fromId(producer.queue, 'disk.expand-e-g1')).toBeUndefined();
    await expect(runner.run('disk.expand', 'disk.expand-e-g1', expand('e', 9), 15000)).resolves.toEqual({ sizeBytes: 9 });
    expect(runs).toEqual(['disk.expand-e-g1', 'disk.expand-e-g1']);
  });
});
