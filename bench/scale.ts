import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { VOLUME_QUEUE } from '../src/queue/jobs';
import { JOB_CLASS_OPTIONS, defaultJobOptions } from '../src/queue/producer';
import { DriverKeys } from '../src/state/keys';
import { errorCode } from './support/csi';
import { DirectCreator } from './support/direct';
import type { Memory } from './support/procs';
import { flushRedis } from './support/redis-probe';
import { fillEventStream, memoryUsage, readTemplate, scanKeys, usedMemory, writeCopies, type Substitution } from './support/redis-clone';
import { seedDisks } from './support/sim-seed';
import { SERVER_NODE_OPTIONS } from './support/node-options';
import { commandDelta, startStack, type Stack } from './support/stack';
import { sleep, summarize, type Summary } from './support/stats';

/**
 * Part (s), scale (issue 14 item 5): an install holding N volumes (default 10,000) and N/10 snapshots.
 *
 * Load: `real` volumes (and a few snapshots) are created for real over gRPC, so their records, their job history
 * and their disks are what the driver writes. The rest are copies of one real volume: its disk in the stopped
 * simulator's state file plus a sparse backing file (support/sim-seed.ts), and everything Redis holds about it —
 * record, index entry, job hashes, completed-set entries — under the new id (support/redis-clone.ts). Job history is
 * kept as the chart's retention keeps it (src/queue/producer.ts RETENTION: completed jobs for 24 h up to 50,000,
 * failed for 7 days; the chart sets no other): an install that made N volumes within a day holds every one of their
 * jobs, up to the count cap; BullMQ's event stream is filled to its cap (10,000 entries).
 *
 * Measured after the load, with controller and worker restarted on it: VmRSS of both; Redis used_memory per volume
 * (INFO delta ÷ N) and MEMORY USAGE of one record and one job; ListVolumes and ListSnapshots paged over gRPC through
 * everything; reconcile.orphans and reconcile.state run times (enqueued as the worker enqueues them:
 * src/runtime/worker-app.ts), reconcile.state both as the no-op it is while records exist and as the rebuild after
 * Redis lost the records.
 */

const PREFIX = 'rds-csi';

export interface ScaleOptions {
  dir: string;
  redisUrl: string;
  volumes: number;
  snapshots: number;
  /** Volumes created for real over gRPC before the copies. */
  real: number;
  concurrency: number;
}

export interface ListRun {
  items: number;
  pages: number;
  totalMs: number;
  page: Summary;
}

export interface ReconcileRun {
  ms: number;
  result: unknown;
}

export interface ScaleResult {
  volumes: number;
  snapshots: number;
  /** NODE_OPTIONS the controller and worker ran with (the chart's). */
  nodeOptions: string;
  real: { volumes: number; snapshots: number; errors: Record<string, number>; seconds: number };
  /** From the real creates: simulator command counters and jobs added, per CreateVolume. */
  perCreate: { commands: number; byCommand: Record<string, number>; jobs: number; jobsByName: Record<string, number> };
  retention: { removeOnComplete: unknown; removeOnFail: unknown; jobsKept: number; eventStreamEntries: number };
  loadSeconds: number;
  redis: {
    usedBytes: { base: number; withVolumes: number; withSnapshots: number };
    bytesPerVolume: number;
    bytesPerSnapshot: number;
    /** MEMORY USAGE of one volume record, its share of the index, and its job hashes and completed-set share. */
    recordBytes: number;
    jobBytesPerVolume: number;
    keys: number;
  };
  rdsPrintMs: { disks: number; files: number; disksListed: number; filesListed: number };
  memory: { afterLoad: StackMemory; afterListsAndReconcile: StackMemory; afterRebuild: StackMemory };
  listVolumes: ListRun;
  listSnapshots: ListRun;
  reconcile: { orphans: ReconcileRun; stateNoop: ReconcileRun; stateRebuild: ReconcileRun };
  loadAverage: number[];
}

interface StackMemory {
  controller: Memory;
  worker?: Memory;
}

function countInto(errors: Record<string, number>, e: unknown): void {
  const c = errorCode(e);
  errors[c] = (errors[c] ?? 0) + 1;
}

/** At most `limit` at once. */
async function pool<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

async function waitIdle(queue: Queue, timeoutMs = 120000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const c = await queue.getJobCounts('active', 'waiting', 'prioritized');
    if (c.active + c.waiting + c.prioritized === 0) return;
    if (Date.now() > until) throw new Error(`queue not idle after ${timeoutMs / 1000} s: ${JSON.stringify(c)}`);
    await sleep(100);
  }
}

/** Enqueues a reconciler the way the worker does (same name, data and job class) and times its run. */
async function runReconciler(queue: Queue, name: 'reconcile.orphans' | 'reconcile.state', timeoutMs = 300000): Promise<ReconcileRun> {
  await waitIdle(queue);
  const cls = name === 'reconcile.state' ? JOB_CLASS_OPTIONS.startup : JOB_CLASS_OPTIONS.scheduled;
  const id = `${name}-bench-${randomUUID().slice(0, 8)}`;
  await queue.add(name, { volumeId: '' }, { ...cls, jobId: id });
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await Job.fromId(queue, id);
    if (job?.finishedOn && job.processedOn) {
      if (job.failedReason) throw new Error(`${name} failed: ${job.failedReason}`);
      return { ms: job.finishedOn - job.processedOn, result: job.returnvalue };
    }
    if (Date.now() > until) throw new Error(`${name} did not finish within ${timeoutMs / 1000} s`);
    await sleep(50);
  }
}

async function pageThrough(fetch: (token: string) => Promise<{ entries: number; nextToken: string }>): Promise<ListRun> {
  const times: number[] = [];
  let token = '';
  let items = 0;
  const t0 = process.hrtime.bigint();
  do {
    const p0 = process.hrtime.bigint();
    const page = await fetch(token);
    times.push(Number(process.hrtime.bigint() - p0) / 1e6);
    items += page.entries;
    token = page.nextToken;
  } while (token);
  return { items, pages: times.length, totalMs: Number(process.hrtime.bigint() - t0) / 1e6, page: summarize(times) };
}

export async function runScale(o: ScaleOptions): Promise<ScaleResult> {
  await flushRedis(o.redisUrl);
  const dir = path.join(o.dir, 'scale');
  // The controller and worker run as the chart runs them (its NODE_OPTIONS): the RSS goal is about a deployed install.
  const stackOpts = {
    dir,
    redisUrl: o.redisUrl,
    latencyMs: 0,
    concurrency: o.concurrency,
    topology: 'separate-worker' as const,
    nodeOptions: SERVER_NODE_OPTIONS,
  };
  const redis = new Redis(o.redisUrl, { maxRetriesPerRequest: 1 });
  const queue = new Queue(VOLUME_QUEUE, { connection: redis.duplicate(), prefix: PREFIX });
  const keys = new DriverKeys(PREFIX);
  let stack: Stack | undefined = await startStack(stackOpts);
  try {
    await waitIdle(queue);
    const base = await usedMemory(redis);

    // 1. Real creates and snapshots over gRPC: the templates, and the commands and jobs per create.
    const errors: Record<string, number> = {};
    const names = Array.from({ length: o.real }, () => `pvc-${randomUUID()}`);
    const s0 = await stack.commands();
    const jobs0 = new Set(await queue.getJobs(['completed', 'failed'], 0, -1).then((js) => js.map((j) => j.id)));
    const r0 = Date.now();
    await pool(names, o.concurrency, (n) =>
      stack!.client.createVolume(n, 120000).then(
        () => undefined,
        (e: unknown) => countInto(errors, e),
      ),
    );
    await waitIdle(queue);
    const delta = commandDelta(s0, await stack.commands());
    const created = o.real - Object.values(errors).reduce((a, b) => a + b, 0);
    if (created < 1) throw new Error(`no real CreateVolume succeeded: ${JSON.stringify(errors)}`);
    const jobsByName: Record<string, number> = {};
    for (const j of await queue.getJobs(['completed', 'failed'], 0, -1)) {
      if (jobs0.has(j.id) || j.name.startsWith('reconcile.')) continue;
      jobsByName[j.name] = (jobsByName[j.name] ?? 0) + 1;
    }
    const jobsPerCreate = Object.values(jobsByName).reduce((a, b) => a + b, 0) / created;
    const realSnapshots = Math.min(5, o.snapshots);
    const snapNames = Array.from({ length: realSnapshots }, () => `snapshot-${randomUUID()}`);
    const templateVolume = names[0];
    const snapIds: string[] = [];
    for (const n of snapNames) {
      const r = (await stack.client.createSnapshot(n, templateVolume, 120000)) as { snapshot?: { snapshotId?: string } };
      if (r.snapshot?.snapshotId) snapIds.push(r.snapshot.snapshotId);
    }
    const realSeconds = (Date.now() - r0) / 1000;
    await waitIdle(queue);
    await stack.stop();
    stack = undefined;

    // 2. Copies: disks into the stopped simulator, records and job history into Redis.
    const l0 = Date.now();
    const dataDir = path.join(dir, 'rds');
    const volTpl = await readTemplate(redis, templateVolume);
    const volRecord = JSON.parse((await redis.get(keys.record('vol', templateVolume))) ?? '{}') as { gen?: string };
    if (!volRecord.gen) throw new Error(`no record for the template volume ${templateVolume}`);
    const copies = o.volumes - o.real;
    const newVols = Array.from({ length: copies }, () => `pvc-${randomUUID()}`);
    const volSubs: Substitution[] = newVols.map((id) => [
      [templateVolume, id],
      [volRecord.gen!, randomUUID().slice(0, volRecord.gen!.length)],
    ]);
    seedDisks(dataDir, templateVolume, newVols);
    await writeCopies(redis, volTpl, volSubs);
    const withVolumes = await usedMemory(redis);
    let withSnapshots = withVolumes;
    let bytesPerSnapshot = NaN;
    if (snapIds.length && o.snapshots > snapIds.length) {
      const snapTplId = snapIds[0];
      const snapTpl = await readTemplate(redis, snapTplId);
      const snapRecord = JSON.parse((await redis.get(keys.record('snap', snapTplId))) ?? '{}') as { gen?: string };
      const newSnaps = Array.from({ length: o.snapshots - snapIds.length }, (_, i) => `${snapTplId.slice(0, -8)}${i.toString(16).padStart(8, '0')}`);
      // The id only: a snapshot id holds its CSI name (ids.ts derive), so the copies keep the template's name.
      const snapSubs: Substitution[] = newSnaps.map((id) => [
        [snapTplId, id],
        [snapRecord.gen ?? snapTplId, randomUUID().slice(0, (snapRecord.gen ?? '').length)],
      ]);
      seedDisks(dataDir, snapTplId, newSnaps);
      await writeCopies(redis, snapTpl, snapSubs);
      withSnapshots = await usedMemory(redis);
      bytesPerSnapshot = (withSnapshots - withVolumes) / newSnaps.length;
    }
    const retention = defaultJobOptions({ attempts: 1, backoffMs: 1 });
    const cap = (retention.removeOnComplete as { count?: number } | undefined)?.count ?? Infinity;
    const jobsKept = Math.min(cap, Math.round(jobsPerCreate * o.volumes));
    const eventKey = `${PREFIX}:${VOLUME_QUEUE}:events`;
    const evPerCreate = (await redis.xlen(eventKey)) / Math.max(1, created);
    const eventStreamEntries = await fillEventStream(redis, eventKey, Math.min(10000, Math.round(evPerCreate * o.volumes)));
    const withEvents = await usedMemory(redis);
    const snapshotsHeld = snapIds.length ? o.snapshots : 0;
    const bytesPerVolume =
      (withEvents - base - (withSnapshots - withVolumes) - (Number.isFinite(bytesPerSnapshot) ? bytesPerSnapshot * snapIds.length : 0)) / o.volumes;
    const recordKey = keys.record('vol', newVols[0] ?? templateVolume);
    const recordBytes = (await memoryUsage(redis, recordKey)) + (await memoryUsage(redis, keys.recordIndex('vol'))) / o.volumes;
    let jobBytes = 0;
    for (const own of volTpl.own) if (own.key !== keys.record('vol', templateVolume)) jobBytes += await memoryUsage(redis, own.key);
    const completedKey = `${PREFIX}:${VOLUME_QUEUE}:completed`;
    jobBytes += ((await memoryUsage(redis, completedKey)) / Math.max(1, await redis.zcard(completedKey))) * jobsPerCreate;
    const keyCount = await redis.dbsize();
    const loadSeconds = (Date.now() - l0) / 1000;

    // 3. Controller and worker on the loaded install.
    stack = await startStack(stackOpts);
    await waitIdle(queue);
    const direct = new DirectCreator(stack.sim.port);
    let rdsPrintMs: ScaleResult['rdsPrintMs'];
    try {
      const d0 = process.hrtime.bigint();
      const disks = await direct.rds.listDisks();
      const d1 = process.hrtime.bigint();
      const files = await direct.rds.listFiles();
      const d2 = process.hrtime.bigint();
      rdsPrintMs = { disks: Number(d1 - d0) / 1e6, files: Number(d2 - d1) / 1e6, disksListed: disks.length, filesListed: files.length };
    } finally {
      await direct.close();
    }
    if (rdsPrintMs.disksListed < o.volumes) {
      throw new Error(
        `the simulator lists ${rdsPrintMs.disksListed} disks after the load, expected at least ${o.volumes}: its state file format changed?`,
      );
    }
    await sleep(2000);
    const afterLoad = stack.memory();
    const st = stack;
    const listVolumes = await pageThrough((t) => st.client.listVolumes(t, 0, 60000));
    const listSnapshots = await pageThrough((t) => st.client.listSnapshots(t, 0, 60000));
    const orphans = await runReconciler(queue, 'reconcile.orphans');
    const stateNoop = await runReconciler(queue, 'reconcile.state');
    const afterListsAndReconcile = stack.memory();
    // Redis lost the records: reconcile.state rebuilds them from the disks on RDS.
    for (const kind of ['vol', 'snap'] as const) {
      const ks = await scanKeys(redis, `${PREFIX}:state:${kind}:*`);
      for (let i = 0; i < ks.length; i += 1000) await redis.unlink(...ks.slice(i, i + 1000));
      await redis.unlink(keys.recordIndex(kind));
    }
    const stateRebuild = await runReconciler(queue, 'reconcile.state');
    const afterRebuild = stack.memory();
    stack.assertAlive();
    return {
      volumes: o.volumes,
      snapshots: snapshotsHeld,
      nodeOptions: SERVER_NODE_OPTIONS,
      real: { volumes: created, snapshots: snapIds.length, errors, seconds: realSeconds },
      perCreate: { commands: delta.total / created, byCommand: delta.byCommand, jobs: jobsPerCreate, jobsByName },
      retention: {
        removeOnComplete: retention.removeOnComplete,
        removeOnFail: retention.removeOnFail,
        jobsKept,
        eventStreamEntries,
      },
      loadSeconds,
      redis: {
        usedBytes: { base, withVolumes, withSnapshots },
        bytesPerVolume,
        bytesPerSnapshot,
        recordBytes,
        jobBytesPerVolume: jobBytes,
        keys: keyCount,
      },
      rdsPrintMs,
      memory: { afterLoad, afterListsAndReconcile, afterRebuild },
      listVolumes,
      listSnapshots,
      reconcile: { orphans, stateNoop, stateRebuild },
      loadAverage: os.loadavg(),
    };
  } finally {
    await stack?.stop();
    await queue.close();
    redis.disconnect();
  }
}
