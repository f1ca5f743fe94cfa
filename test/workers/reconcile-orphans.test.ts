import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/log/logger';
import { createRdsPort } from '../../src/rds';
import type { RdsPort } from '../../src/rds/port';
import type { OrphanSightings } from '../../src/state/orphan-sightings';
import { driverState } from '../../src/state/stores';
import { memorySteps, type ProcessorContext } from '../../src/workers/context';
import { processors } from '../../src/workers/processors';
import { reconcileOrphans } from '../../src/workers/processors/reconcile-orphans';
import { MOUNT_RWO } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { waitFor } from '../support/wait';
import { ownerCommentOf, ownerOf } from '../support/owner';

/** reconcile.orphans against the simulator: report by default, delete only opted in and after the grace period. */
const MiB = 1024 * 1024;

describe('reconcile.orphans', () => {
  let h: Harness;
  let redis: Redis;
  let rds: RdsPort;
  let sightings: OrphanSightings;
  const driverEvents: string[] = [];
  const events = {
    emit: () => Promise.resolve(),
    emitDriver: (_type: string, reason: string, message: string) => {
      driverEvents.push(`${reason}: ${message}`);
      return Promise.resolve();
    },
  };
  const noMetrics = { conflict: () => undefined, migrationEnded: () => undefined, reconcile: () => undefined };
  const ctx = (del: boolean, graceMs: number): ProcessorContext<'reconcile.orphans'> => ({
    events,
    metrics: noMetrics,
    rds,
    basePath: h.cfg.rds.basePath,
    volumePrefix: '',
    steps: memorySteps(),
    log: createLogger('silent'),
    records: driverState(redis, h.cfg.queuePrefix),
    orphans: { slotPrefix: '', owner: ownerOf(h.cfg), delete: del, graceMs, sightings },
  });

  beforeAll(async () => {
    h = await startHarness();
    redis = new Redis(h.redis.url);
    rds = createRdsPort({
      host: h.sim.host,
      port: h.sim.port,
      user: 'admin',
      password: 'secret',
      connectTimeoutMs: 1000,
      callTimeoutMs: 5000,
      poolName: 'pool',
    });
    sightings = driverState(redis, h.cfg.queuePrefix).sightings;
  });
  afterAll(async () => {
    await rds.close();
    await redis.quit();
    await h.stop();
  });

  it('is scheduled once, cluster-wide', async () => {
    const queue = new Queue('volumes', { connection: redis, prefix: h.cfg.queuePrefix });
    const schedulers = (await queue.getJobSchedulers()).map((s) => s.key);
    expect(schedulers).toEqual(expect.arrayContaining(['reconcile.orphans', 'reconcile.attachments']));
    await queue.close();
  });

  it('reports orphans, waits out the grace period, then deletes only what is under the base path and unknown', async () => {
    const known = (
      await h.client.ctl('CreateVolume', { name: 'known', capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [MOUNT_RWO] })
    ).volume.volumeId as string;
    // Leaked disks carry this cluster's ownership comment, as the driver writes it (only those are orphans of ours).
    const comment = ownerCommentOf(h.cfg);
    await rds.addDisk({ slot: 'vol-leaked-000000000000', filePath: '/pool/rds-csi/vol-leaked-000000000000.img', fileSizeBytes: MiB, comment });
    const removed = await rds.addDisk({
      slot: 'pvc-00000000-0000-4000-8000-000000000001',
      filePath: '/pool/rds-csi/pvc-00000000-0000-4000-8000-000000000001.img',
      fileSizeBytes: MiB,
    });
    await rds.removeDisk(removed.id); // `/disk remove` keeps the file: a leaked backing file
    await rds.addDisk({ slot: 'vol-foreign-000000000000', filePath: '/pool/other/vol-foreign-000000000000.img', fileSizeBytes: MiB });
    await rds.addDisk({ slot: 'boot-disk', filePath: '/pool/rds-csi/boot-disk.img', fileSizeBytes: MiB });

    const report = await reconcileOrphans({ volumeId: '' }, ctx(false, 0));
    expect(report).toEqual({ disks: 1, files: 1, deleted: 0 });
    expect(driverEvents).toEqual([expect.stringMatching(/^OrphansFound: 1 disk\(s\) and 1 backing file\(s\) .*vol-leaked-000000000000/)]);
    expect(Object.keys(await sightings.all()).sort()).toEqual([
      'disk:vol-leaked-000000000000:/pool/rds-csi/vol-leaked-000000000000.img',
      'file:/pool/rds-csi/pvc-00000000-0000-4000-8000-000000000001.img',
    ]);

    // Opted in, but the orphans are younger than the grace period: nothing is deleted.
    expect(await reconcileOrphans({ volumeId: '' }, ctx(true, 60_000))).toMatchObject({ deleted: 0 });
    expect(h.sim.disks().map((d) => d.slot)).toContain('vol-leaked-000000000000');

    // First seen long ago: now they go, and nothing else does.
    for (const key of Object.keys(await sightings.all()))
      await redis.hset(`${h.cfg.queuePrefix}:state:orphans-seen`, key, String(Date.now() - 120_000));
    expect(await reconcileOrphans({ volumeId: '' }, ctx(true, 60_000))).toMatchObject({ disks: 1, files: 1, deleted: 2 });
    const slots = h.sim
      .disks()
      .map((d) => d.slot)
      .sort();
    expect(slots).toEqual([known, 'boot-disk', 'vol-foreign-000000000000'].sort());
    expect(await rds.getFile('/pool/rds-csi/pvc-00000000-0000-4000-8000-000000000001.img')).toBeUndefined();
    expect(await rds.getFile(`/pool/rds-csi/${known}.img`)).toBeDefined();
    // The next run finds nothing and forgets the sightings.
    expect(await reconcileOrphans({ volumeId: '' }, ctx(true, 60_000))).toEqual({ disks: 0, files: 0, deleted: 0 });
    expect(await sightings.all()).toEqual({});
  });

  const backdate = async (): Promise<void> => {
    for (const key of Object.keys(await sightings.all()))
      await redis.hset(`${h.cfg.queuePrefix}:state:orphans-seen`, key, String(Date.now() - 120_000));
  };

  it('never deletes an exported disk, even with deletion on and the grace period long past', async () => {
    const leaked = (
      await h.client.ctl('CreateVolume', { name: 'exported-leak', capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [MOUNT_RWO] })
    ).volume.volumeId as string;
    await redis.del(`${h.cfg.queuePrefix}:state:vol:${leaked}`);
    await redis.zrem(`${h.cfg.queuePrefix}:state:vols`, leaked);
    expect(await reconcileOrphans({ volumeId: '' }, ctx(true, 60_000))).toEqual({ disks: 1, files: 0, deleted: 0 });
    await backdate();
    expect(await reconcileOrphans({ volumeId: '' }, ctx(true, 60_000))).toEqual({ disks: 1, files: 0, deleted: 0 });
    expect(h.sim.disks().find((d) => d.slot === leaked)).toMatchObject({ nvmeTcpExport: true });
    expect(await rds.getFile(`/pool/rds-csi/${leaked}.img`)).toBeDefined();
  });

  it('with deletion on and Redis holding no record, deletes nothing and says why', async () => {
    // An unexported snapshot disk: the kind the deletion would otherwise take once the grace period passed.
    await rds.addDisk({
      slot: 'snap-leftover-000000000000',
      filePath: '/pool/rds-csi/snap-leftover-000000000000.img',
      fileSizeBytes: MiB,
      comment: ownerCommentOf(h.cfg),
    });
    // Redis loses the driver's records (a flush): every disk now looks orphaned.
    const keys = await redis.keys(`${h.cfg.queuePrefix}:state:*`);
    if (keys.length) await redis.del(...keys);
    const before = h.sim
      .disks()
      .map((d) => d.slot)
      .sort();
    expect(before).toEqual(expect.arrayContaining(['snap-leftover-000000000000']));
    await reconcileOrphans({ volumeId: '' }, ctx(true, 60_000));
    await backdate();
    driverEvents.length = 0;
    const result = await reconcileOrphans({ volumeId: '' }, ctx(true, 60_000));
    expect(result).toMatchObject({
      deleted: 0,
      refused: expect.stringMatching(/Redis holds no volume or snapshot record.*Redis may have lost its data/),
    });
    expect(result.disks).toBeGreaterThanOrEqual(2);
    expect(
      h.sim
        .disks()
        .map((d) => d.slot)
        .sort(),
    ).toEqual(before);
    expect(await rds.getFile('/pool/rds-csi/snap-leftover-000000000000.img')).toBeDefined();
    expect(driverEvents).toEqual(expect.arrayContaining([expect.stringMatching(/^OrphanCleanupRefused: Redis holds no volume or snapshot record/)]));
  });
});

describe('reconcilers across workers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('two workers never run the same reconciler at once', async () => {
    const { startWorker } = await import('../../src/runtime/worker-app');
    const second = await startWorker(h.cfg, createLogger('silent'));
    const redis = new Redis(h.redis.url);
    const queue = new Queue('volumes', { connection: redis, prefix: h.cfg.queuePrefix });
    // Both workers (the harness's and the second) run in this process and look their processor up in the registry
    // for each job: wrapping it records when each run enters and leaves, on one clock, inside the lease.
    const original = processors['reconcile.orphans'];
    const runs: Array<{ enter: number; leave: number }> = [];
    let running = 0;
    let mostAtOnce = 0;
    processors['reconcile.orphans'] = async (data, ctx) => {
      mostAtOnce = Math.max(mostAtOnce, ++running);
      const enter = performance.now();
      try {
        return await original(data, ctx);
      } finally {
        runs.push({ enter, leave: performance.now() });
        running--;
      }
    };
    try {
      h.sim.faults.set({ latencyMs: 150 }); // each run takes several RouterOS calls: long enough to overlap if allowed
      const jobs = await Promise.all([1, 2, 3, 4].map((i) => queue.add('reconcile.orphans', { volumeId: '' }, { jobId: `orphans-overlap-${i}` })));
      await waitFor(
        async () => (await Promise.all(jobs.map(async (j) => (await queue.getJob(j.id!))?.finishedOn))).every(Boolean),
        30000,
        'the four reconcile.orphans jobs to finish',
      );
      expect(runs.length).toBeGreaterThanOrEqual(4); // the scheduler's own runs may add to them
      expect(mostAtOnce).toBe(1);
      const spans = [...runs].sort((a, b) => a.enter - b.enter);
      for (let i = 1; i < spans.length; i++) expect(spans[i].enter).toBeGreaterThanOrEqual(spans[i - 1].leave);
    } finally {
      processors['reconcile.orphans'] = original;
      h.sim.faults.set({ latencyMs: 0 });
      await queue.close();
      await redis.quit();
      await second.close();
    }
  }, 60000);
});
