import { Queue, type JobType } from 'bullmq';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { MOUNT_RWO, codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { spawnCli, type CliProcess } from '../support/processes';
import { freePort } from '../support/redis';
import { conventionProblems, family, histogramSeries, scrape, value, type Families } from './prom-text';

/**
 * /metrics of a controller and of a separate `rds-csi worker` process, scraped over HTTP and parsed, before and after
 * real operations: two CreateVolumes that succeed, one that fails because the pool is full, a GetCapacity. The
 * controller (in this process, no in-process worker) serves CSI and enqueues; the worker child runs every job against
 * the RouterOS simulator over TCP, so each process's registry holds only its own side.
 */

const MiB = 1024 * 1024;
const POOL_BYTES = 1024 * MiB;
const QUEUE_STATES: JobType[] = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'];

describe('metrics of the controller and of a worker process, scraped and parsed', () => {
  let h: Harness;
  let worker: CliProcess;
  let controllerUrl: string;
  let workerUrl: string;
  const before: { controller?: Families; worker?: Families } = {};
  const after: { controller?: Families; worker?: Families } = {};
  const created: string[] = [];
  let full: { code?: number; details?: string };
  let capacity: { availableCapacity: string };
  let queueCounts: Record<string, number>;

  beforeAll(async () => {
    // rds.statusCacheMs 0: the pool gauge scraped after the volumes were made is a fresh read (see scrape-load.test.ts).
    h = await startHarness({
      withWorker: false,
      httpListen: '127.0.0.1:0',
      sim: { poolSizeBytes: POOL_BYTES },
      overrides: { 'rds.statusCacheMs': 0 },
    });
    controllerUrl = `http://127.0.0.1:${h.controller?.http?.port}/metrics`;
    const port = await freePort();
    worker = await spawnCli(
      [
        'worker',
        '--redis-url',
        h.redis.url,
        '--rds-address',
        `${h.sim.host}:${h.sim.port}`,
        '--http-listen',
        `127.0.0.1:${port}`,
        '--log-level',
        'info',
      ],
      { RDS_CSI_RDS_PASSWORD: 'secret', RDS_CSI_WORKER_BACKOFF_MS: '100' },
      /worker ready/,
    );
    workerUrl = `http://127.0.0.1:${port}/metrics`;
    before.controller = await scrape(controllerUrl);
    before.worker = await scrape(workerUrl);

    for (const name of ['pvc-metrics-1', 'pvc-metrics-2']) {
      const res = await h.client.ctl(
        'CreateVolume',
        { name, capacityRange: { requiredBytes: String(8 * MiB) }, volumeCapabilities: [MOUNT_RWO] },
        20000,
      );
      created.push(res.volume.volumeId as string);
    }
    full = await codeOf(
      h.client.ctl(
        'CreateVolume',
        { name: 'pvc-metrics-full', capacityRange: { requiredBytes: String(2 * POOL_BYTES) }, volumeCapabilities: [MOUNT_RWO] },
        20000,
      ),
    );
    capacity = await h.client.ctl('GetCapacity', {});

    after.controller = await scrape(controllerUrl);
    after.worker = await scrape(workerUrl);
    const q = new Queue(VOLUME_QUEUE, { connection: { host: '127.0.0.1', port: h.redis.port }, prefix: h.cfg.queuePrefix });
    queueCounts = await q.getJobCounts(...QUEUE_STATES);
    await q.close();
  });

  afterAll(async () => {
    await worker?.kill();
    await h?.stop();
  });

  it('the operations happened as intended (two volumes, one RESOURCE_EXHAUSTED)', () => {
    expect(created).toHaveLength(2);
    expect(full.code).toBe(8); // RESOURCE_EXHAUSTED
    expect(full.details).toMatch(/free/);
  });

  describe('controller', () => {
    const c = (): Families => after.controller!;
    const b = (): Families => before.controller!;

    it('rds_csi_rpc_duration_seconds counted the CreateVolumes by method and code', () => {
      const ok = { method: 'Controller.CreateVolume', code: 'OK' };
      const okBefore = histogramSeries(b(), 'rds_csi_rpc_duration_seconds', ok)?.count ?? 0;
      const okAfter = histogramSeries(c(), 'rds_csi_rpc_duration_seconds', ok);
      expect(okAfter?.count).toBe(okBefore + 2);
      expect(okAfter!.sum).toBeGreaterThan(0);
      // Each took well under 10 s: both observations are in the le=10 bucket.
      expect(okAfter!.buckets.find((x) => x.le === 10)?.count).toBe(okAfter!.count);
      const exhausted = histogramSeries(c(), 'rds_csi_rpc_duration_seconds', { method: 'Controller.CreateVolume', code: 'RESOURCE_EXHAUSTED' });
      expect(exhausted?.count).toBe(
        (histogramSeries(b(), 'rds_csi_rpc_duration_seconds', { method: 'Controller.CreateVolume', code: 'RESOURCE_EXHAUSTED' })?.count ?? 0) + 1,
      );
      expect(histogramSeries(c(), 'rds_csi_rpc_duration_seconds', { method: 'Controller.GetCapacity', code: 'OK' })?.count).toBeGreaterThanOrEqual(1);
    });

    it('rds_csi_queue_jobs has every BullMQ state, and the counts moved with the jobs', () => {
      expect(family(c(), 'rds_csi_queue_jobs').type).toBe('gauge');
      for (const state of QUEUE_STATES) {
        const n = value(c(), 'rds_csi_queue_jobs', { state });
        expect([state, Number.isInteger(n) && n! >= 0]).toEqual([state, true]);
      }
      const completed = (f: Families): number => value(f, 'rds_csi_queue_jobs', { state: 'completed' }) ?? 0;
      const failed = (f: Families): number => value(f, 'rds_csi_queue_jobs', { state: 'failed' }) ?? 0;
      // One disk.create per volume (issue 14: it exports too); the pool-full disk.create failed for good and stays
      // in the failed set (for the dashboard and `rds-csi jobs list`).
      expect(completed(c())).toBeGreaterThanOrEqual(completed(b()) + 2);
      expect(failed(c())).toBe(failed(b()) + 1);
      // The same as BullMQ says right after (the reconcilers may have completed one more in between).
      expect(value(c(), 'rds_csi_queue_jobs', { state: 'failed' })).toBe(queueCounts.failed);
      expect(queueCounts.completed - completed(c())).toBeGreaterThanOrEqual(0);
      expect(queueCounts.completed - completed(c())).toBeLessThanOrEqual(2);
    });

    it('rds_csi_pool_bytes is the simulated pool: size exact, free what GetCapacity answers', () => {
      expect(family(c(), 'rds_csi_pool_bytes').type).toBe('gauge');
      // Issue 16: a single RDS is the backend "default" (rds.backend), and every RDS metric says so.
      expect(value(c(), 'rds_csi_pool_bytes', { kind: 'size', backend: 'default' })).toBe(POOL_BYTES);
      const free = value(c(), 'rds_csi_pool_bytes', { kind: 'free', backend: 'default' })!;
      expect(free).toBeGreaterThan(0);
      expect(free).toBeLessThanOrEqual(POOL_BYTES);
      expect(free).toBe(Number(capacity.availableCapacity));
    });

    it('rds_csi_managed_objects counts the volumes made here and no snapshots', () => {
      expect(value(b(), 'rds_csi_managed_objects', { kind: 'volumes' })).toBe(0);
      expect(value(c(), 'rds_csi_managed_objects', { kind: 'volumes' })).toBe(created.length);
      expect(value(c(), 'rds_csi_managed_objects', { kind: 'snapshots' })).toBe(0);
      expect(value(c(), 'rds_csi_managed_objects', { kind: 'migrations' })).toBe(0);
    });

    it('its own RouterOS connection (pool capacity) is measured and up', () => {
      expect(value(c(), 'rds_csi_rds_connected', { backend: 'default' })).toBe(1);
      expect(
        histogramSeries(c(), 'rds_csi_routeros_call_duration_seconds', { command: '/disk/print', outcome: 'ok', backend: 'default' })?.count,
      ).toBeGreaterThan(0);
      // Jobs ran in the worker process, not here.
      expect(histogramSeries(c(), 'rds_csi_job_duration_seconds', { type: 'disk.create' })).toBeUndefined();
    });

    it('names and shapes follow the Prometheus conventions; default process metrics are on', () => {
      expect(conventionProblems(c(), 'controller')).toEqual([]);
    });
  });

  describe('worker process', () => {
    const w = (): Families => after.worker!;
    const b = (): Families => before.worker!;

    it('rds_csi_job_duration_seconds{type="disk.create",outcome="completed"} counted both volumes', () => {
      const sel = { type: 'disk.create', outcome: 'completed' };
      const s = histogramSeries(w(), 'rds_csi_job_duration_seconds', sel);
      expect(s?.count).toBe((histogramSeries(b(), 'rds_csi_job_duration_seconds', sel)?.count ?? 0) + 2);
      expect(s!.sum).toBeGreaterThan(0);
      // No separate export job any more (issue 14): disk.create adds the disk exported.
      expect(histogramSeries(w(), 'rds_csi_job_duration_seconds', { type: 'target.export', outcome: 'completed' })).toBeUndefined();
    });

    it('the pool-full disk.create is a permanent failure: one attempt, one failure, no retries', () => {
      const attempts = (f: Families): number => value(f, 'rds_csi_job_attempts_total', { type: 'disk.create' }) ?? 0;
      const failures = (f: Families): number => value(f, 'rds_csi_job_failures_total', { type: 'disk.create', kind: 'permanent' }) ?? 0;
      expect(attempts(w()) - attempts(b())).toBe(3);
      expect(failures(w()) - failures(b())).toBe(1);
      expect(value(w(), 'rds_csi_job_failures_total', { type: 'disk.create', kind: 'transient' })).toBeUndefined();
      expect(histogramSeries(w(), 'rds_csi_job_duration_seconds', { type: 'disk.create', outcome: 'permanent' })?.count).toBe(1);
    });

    it('rds_csi_routeros_call_duration_seconds{command="/disk/add"} counted the disk creations; RDS is connected', () => {
      const add = histogramSeries(w(), 'rds_csi_routeros_call_duration_seconds', { command: '/disk/add', outcome: 'ok', backend: 'default' });
      expect(add?.count).toBe(
        (histogramSeries(b(), 'rds_csi_routeros_call_duration_seconds', { command: '/disk/add', outcome: 'ok' })?.count ?? 0) + 2,
      );
      expect(histogramSeries(w(), 'rds_csi_routeros_call_duration_seconds', { command: '/disk/print', outcome: 'ok' })?.count).toBeGreaterThan(0);
      expect(value(w(), 'rds_csi_rds_connected', { backend: 'default' })).toBe(1);
    });

    it('names and shapes follow the Prometheus conventions; default process metrics are on', () => {
      expect(conventionProblems(w(), 'worker')).toEqual([]);
    });
  });
});
