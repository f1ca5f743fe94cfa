import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { OpsFailure } from '../../src/cli/exit-codes';
import { cleanJobs, listJobs, retryJob, showJob } from '../../src/cli/job-admin';
import { attachedText } from '../../src/cli/format';
import { listVolumes } from '../../src/state/listing';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { waitFor } from '../support/wait';

/** The queue and record views behind `rds-csi jobs` and `rds-csi volumes`, on the real controller stack. */

const MiB = 1024 * 1024;
const BLOCK = { block: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } };

describe('jobs and volumes views', () => {
  let h: Harness;
  let redis: Redis;
  let queue: Queue;
  let vol: string;
  let failedId: string;

  beforeAll(async () => {
    h = await startHarness({ overrides: { nodes: 'n1,n2', 'kubernetes.mode': 'off' } });
    redis = new Redis(h.redis.url, { maxRetriesPerRequest: null });
    queue = new Queue(VOLUME_QUEUE, { connection: redis, prefix: h.cfg.queuePrefix });
    vol = (
      await h.client.ctl('CreateVolume', { name: 'listed', capacityRange: { requiredBytes: String(2 * MiB) }, volumeCapabilities: [BLOCK] }, 20000)
    ).volume.volumeId as string;
    await h.client.ctl('ControllerPublishVolume', { volumeId: vol, nodeId: 'n1', volumeCapability: BLOCK, readonly: false }, 20000);
    // RDS busy for every attempt: the job fails after its 3 attempts and stays failed for a CSI retry (or us).
    h.sim.faults.trapNext('/disk/add', 'busy', 3);
    expect(
      (
        await codeOf(
          h.client.ctl('CreateVolume', { name: 'full', capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [BLOCK] }, 20000),
        )
      ).code,
    ).toBeDefined();
    const failed = await listJobs(queue, { state: 'failed', limit: 10 });
    expect(failed).toHaveLength(1);
    failedId = failed[0].id;
  });
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await h.stop();
  });

  it('lists jobs newest first with state, attempts and the failure reason', async () => {
    const all = await listJobs(queue, { limit: 50 });
    expect(all.map((j) => j.createdAt)).toEqual([...all.map((j) => j.createdAt)].sort((a, b) => b - a));
    const byName = (name: string) => all.filter((j) => j.name === name && j.volumeId === vol);
    expect(byName('disk.create')).toEqual([expect.objectContaining({ state: 'completed', attemptsMade: 1, attempts: 3 })]);
    expect(byName('target.export')).toHaveLength(0); // one job per CreateVolume (issue 14)
    expect(byName('fence.attach')).toEqual([expect.objectContaining({ state: 'completed' })]);
    expect(all.find((j) => j.id === failedId)).toMatchObject({ state: 'failed', name: 'disk.create', attemptsMade: 3 });
    expect(await listJobs(queue, { limit: 2 })).toHaveLength(2);
    expect(await listJobs(queue, { state: 'active', limit: 10 })).toEqual([]);
  });

  it('shows one job with data, timestamps and failure', async () => {
    const job = await showJob(queue, failedId, { redis, prefix: h.cfg.queuePrefix });
    expect(job).toMatchObject({ id: failedId, state: 'failed', data: expect.objectContaining({ sizeBytes: MiB }) });
    expect(job?.failedReason).toMatch(/RDS said "busy"/);
    expect(job?.createdAt).toBeGreaterThan(0);
    expect(job?.finishedOn).toBeGreaterThanOrEqual(job?.createdAt ?? 0);
    expect(await showJob(queue, 'no-such-job')).toBeUndefined();
  });

  it('retries a failed job with a fresh set of attempts, and only a failed one', async () => {
    await expect(retryJob(queue, failedId)).resolves.toMatchObject({ id: failedId, state: 'waiting' });
    // The traps are used up: this time the disk is created, in the first of a fresh set of attempts.
    await waitFor(async () => (await showJob(queue, failedId))?.state === 'completed', 20000, 'the retried job to complete');
    expect(await showJob(queue, failedId)).toMatchObject({ state: 'completed', attemptsMade: 1 });
    await expect(retryJob(queue, failedId)).rejects.toThrow(new OpsFailure(`job ${failedId} is completed; only a failed job can be retried`));
    await expect(retryJob(queue, 'no-such-job')).rejects.toThrow(/not found/);
  });

  it('cleans finished jobs past the grace period only', async () => {
    const before = (await listJobs(queue, { state: 'completed', limit: 100 })).length;
    expect(await cleanJobs(queue, 'completed', 3600_000, 0)).toEqual([]);
    const removed = await cleanJobs(queue, 'completed', 0, 0);
    expect(removed.length).toBe(before);
    expect(await listJobs(queue, { state: 'completed', limit: 100 })).toEqual([]);
  });

  it('lists volume records with state, size and attachments', async () => {
    const list = await listVolumes(redis, h.cfg.queuePrefix);
    const v = list.find((x) => x.volume.id === vol);
    expect(v?.volume).toMatchObject({ state: 'ready', capacityBytes: 2 * MiB, accessType: 'block' });
    expect(Object.keys(v?.attachment?.nodes ?? {})).toEqual(['n1']);
    expect(attachedText(v?.attachment)).toBe('n1');
    expect(attachedText(undefined)).toBe('-');
  });
});
