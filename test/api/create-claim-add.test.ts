import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { CreateVolumeSpec } from '../../src/api/validate';
import { VolumeOperations } from '../../src/api/volume-operations';
import type { DiskCreateData, DiskCreateResult } from '../../src/queue/jobs';
import { driverState } from '../../src/state/stores';
import type { VolumeRecord, VolumeStore } from '../../src/state/volume-record';
import { MOUNT_RWO } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { startQueueHarness, type QueueHarness } from '../support/queue-harness';
import { waitFor } from '../support/wait';

/**
 * Issue 14, queue overhead: CreateVolume adds its disk.create right behind the record claim, without waiting for the
 * claim's reply (one round trip less on every create, and in a storm the first jobs start while later requests are
 * still being claimed). Safe because Redis runs the claim first (one connection, in order) and the worker runs a
 * disk.create only while the record holds the job's generation (DiskCreateData.gen, checked in the lease script).
 */

const MiB = 1024 * 1024;
const spec = (name: string): CreateVolumeSpec => ({ name, sizeBytes: 8 * MiB, accessType: 'mount', fsType: 'ext4', paramsKey: '', context: {} });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The real Redis store, whose claim replies reach the caller `lagMs` late (a slow network back to the controller). */
class LaggingStore implements VolumeStore {
  answeredAt = 0;
  constructor(
    private readonly inner: VolumeStore,
    private readonly lagMs: number,
  ) {}
  async claim(rec: VolumeRecord): Promise<{ created: boolean; record: VolumeRecord }> {
    const out = await this.inner.claim(rec);
    await sleep(this.lagMs);
    this.answeredAt = Date.now();
    return out;
  }
  get = (id: string): Promise<VolumeRecord | undefined> => this.inner.get(id);
  update = (rec: VolumeRecord): Promise<boolean> => this.inner.update(rec);
  remove = (id: string, gen: string): Promise<boolean> => this.inner.remove(id, gen);
  page = (after: string | undefined, limit: number): ReturnType<VolumeStore['page']> => this.inner.page(after, limit);
  count = (): Promise<number> => this.inner.count();
}

describe('CreateVolume: the job goes out with the claim', () => {
  const prefix = 'claim-add';
  let q: QueueHarness;
  const taken: Array<{ at: number; data: DiskCreateData }> = [];

  beforeAll(async () => {
    q = await startQueueHarness({
      prefix,
      policy: { attempts: 1, backoffMs: 10 },
      process: (job: Job) => {
        const data = job.data as DiskCreateData;
        taken.push({ at: Date.now(), data });
        return Promise.resolve({ sizeBytes: data.sizeBytes, exported: { nqn: data.nqn ?? '', port: data.port ?? 0 } } satisfies DiskCreateResult);
      },
    });
  });
  afterAll(async () => {
    await q.stop();
  });

  function ops(store: VolumeStore): VolumeOperations {
    const { attachments } = driverState(q.conn, prefix);
    return new VolumeOperations({ store, attachments, runner: q.runner, basePath: '/pool', nqnPrefix: 'nqn.test', exportPort: 4420 });
  }

  it('a worker has the new generation’s job before the claim’s reply is back', async () => {
    const store = new LaggingStore(driverState(q.conn, prefix).volumes, 400);
    const rec = await ops(store).create('pvc-early', spec('early'), 10000);
    expect(rec.state).toBe('ready');
    const job = taken.find((t) => t.data.volumeId === 'pvc-early');
    expect(job?.data.gen).toBe(rec.gen);
    // Added only after the claim's reply, the job could not have been taken before it.
    expect(job!.at).toBeLessThan(store.answeredAt);
  });

  it('a create that finds the record already there gives its own job up: nothing of it stays in the queue', async () => {
    const store = driverState(q.conn, prefix).volumes;
    const first = await ops(store).create('pvc-again', spec('again'), 10000);
    await q.worker.pause(); // the second call's job cannot be taken: the drop must remove it
    try {
      const before = taken.length;
      const again = await ops(store).create('pvc-again', spec('again'), 10000);
      expect(again.gen).toBe(first.gen);
      await waitFor(
        async () => {
          const jobs = await q.queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed', 'prioritized']);
          return jobs.filter((j) => (j.data as DiskCreateData).volumeId === 'pvc-again').length === 1;
        },
        5000,
        'the given-up job to be removed',
      );
      expect(taken.length).toBe(before);
    } finally {
      q.worker.resume();
    }
  });
});

describe('the worker runs a disk.create only while the record holds its generation', () => {
  let h: Harness;
  let redis: Redis;
  let queue: Queue;

  beforeAll(async () => {
    h = await startHarness({ overrides: { 'fencing.reconcileIntervalMs': 3600000 } });
    redis = new Redis(h.redis.url, { maxRetriesPerRequest: null });
    queue = new Queue('volumes', { connection: redis, prefix: h.cfg.queuePrefix });
    // The start-up reconcilers talk to RDS first; the counts below are taken after they are done.
    let last = JSON.stringify(h.sim.stats());
    await waitFor(
      async () => {
        await sleep(300);
        const now = JSON.stringify(h.sim.stats());
        const quiet = now === last;
        last = now;
        return quiet;
      },
      20000,
      'the start-up reconcilers to finish talking to RDS',
    );
  });
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await h.stop();
  });

  const data = (volumeId: string, gen?: string): DiskCreateData => ({
    volumeId,
    slot: volumeId,
    filePath: `${h.cfg.rds.basePath}/${volumeId}.img`,
    sizeBytes: 8 * MiB,
    nqn: `nqn.test:${volumeId}`,
    port: 4420,
    gen,
  });

  async function finished(id: string): Promise<DiskCreateResult> {
    await waitFor(async () => (await queue.getJobState(id)) === 'completed', 15000, `job ${id} to complete`);
    return (await Job.fromId(queue, id))!.returnvalue as DiskCreateResult;
  }

  it.each([
    { what: 'no record at all', record: undefined },
    { what: 'a record of another generation', record: 'other' },
  ])('$what: completes as superseded with no RouterOS command and no lease', async ({ record }) => {
    // A volume made through the API has a record with its own generation; 'stale' is never one.
    const req = { name: 'guard-other', capacityRange: { requiredBytes: String(8 * MiB) }, volumeCapabilities: [MOUNT_RWO] };
    const target = record ? ((await h.client.ctl('CreateVolume', req, 30000)).volume.volumeId as string) : 'pvc-guard-none';
    const before = JSON.stringify(h.sim.stats());
    const id = `disk.create-${target}-stale`;
    await queue.add('disk.create', data(target, 'stale'), { jobId: id });
    expect(await finished(id)).toEqual({ sizeBytes: 0, superseded: true });
    expect(JSON.stringify(h.sim.stats())).toBe(before);
    expect(await redis.exists(`${h.cfg.queuePrefix}:lease:vol:${target}`)).toBe(0);
  });

  it('without a generation (a job of a controller from before): runs on RDS as before', async () => {
    const volumeId = 'pvc-guard-nogen';
    const id = `disk.create-${volumeId}-old`;
    await queue.add('disk.create', data(volumeId), { jobId: id });
    const result = await finished(id);
    expect(result.superseded).toBeUndefined();
    expect(result.sizeBytes).toBe(8 * MiB);
  });
});
