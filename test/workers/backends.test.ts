import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { QueueEvents, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { Failure } from '../../src/domain/failure';
import { backingFilePath, nqnFor, volumeIdFromName } from '../../src/domain/ids';
import { removeDirSafely } from '../../src/host/safe-remove';
import { createLogger } from '../../src/log/logger';
import { JobRunner } from '../../src/queue/job-runner';
import { NO_RECORD_GEN, VOLUME_QUEUE, type DiskCreateData, type JobData, type JobName, type JobResult } from '../../src/queue/jobs';
import { JobProducer } from '../../src/queue/producer';
import { startWorker, type WorkerApp } from '../../src/runtime/worker-app';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { driverState, type DriverState } from '../../src/state/stores';
import { fastTestSettings } from '../support/controller-harness';
import { startRedis, type TestRedis } from '../support/redis';
import { waitFor } from '../support/wait';

/**
 * The worker with two RDS backends (issue 16), two simulators over TCP and a real Redis: the primary `default` and
 * the extra backend `b` (ids `<slot>@b`). Each job runs against the backend its id names; an id naming a backend
 * the configuration does not have fails at once; `b`'s job limit (1) and a slow or dead `b` never hold up the
 * primary's jobs; reconcile.state and reconcile.orphans run per backend, each against its own records. A second
 * worker (own queue prefix) has an extra backend without `concurrency` that hangs: the default limit keeps slots free.
 */
const MiB = 1024 * 1024;

/** A worker on `cfg` and what a test needs to run jobs on its queue. */
interface Stack {
  worker: WorkerApp;
  conn: Redis;
  producer: JobProducer;
  runner: JobRunner;
  close(): Promise<void>;
}

async function startStack(cfg: Config, redisUrl: string): Promise<Stack> {
  const worker = await startWorker(cfg, createLogger(cfg.logLevel));
  const conn = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const producer = new JobProducer(conn, cfg.queuePrefix, cfg.worker);
  const events = new QueueEvents(VOLUME_QUEUE, { connection: { url: redisUrl }, prefix: cfg.queuePrefix });
  await events.waitUntilReady();
  const runner = new JobRunner(producer, events);
  return {
    worker,
    conn,
    producer,
    runner,
    close: async () => {
      runner.close();
      await worker.close();
      await events.close();
      await producer.close();
      conn.disconnect();
    },
  };
}

describe('a worker with two RDS backends', () => {
  let dir: string;
  let redis: TestRedis;
  let simA: RunningSimulator;
  let simB: RunningSimulator;
  let cfg: Config;
  let stack: Stack;
  let producer: JobProducer;
  let runner: JobRunner;
  let state: DriverState;
  let seq = 0;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-backends-'));
    redis = await startRedis();
    const sim = (name: string): Promise<RunningSimulator> =>
      startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, name), user: 'admin', password: 'secret' });
    [simA, simB] = await Promise.all([sim('a'), sim('b')]);
    const b = { name: 'b', host: simB.host, port: simB.port, password: 'secret', callTimeoutMs: 2000, connectTimeoutMs: 1000, concurrency: 1 };
    cfg = loadConfig({ ...cfgOverrides(), backends: JSON.stringify([b]) }, {});
    stack = await startStack(cfg, redis.url);
    ({ producer, runner } = stack);
    state = driverState(stack.conn, cfg.queuePrefix);
  });
  afterAll(async () => {
    await stack.close();
    await Promise.all([simA.close(), simB.close()]);
    await redis.stop();
    removeDirSafely(dir);
  });

  /** The primary (simA) and a worker of 2 slots; each worker adds its extra backends. */
  const cfgOverrides = () => ({
    redisUrl: redis.url,
    ...fastTestSettings(simA),
    'worker.concurrency': 2,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
  });
  const run = <N extends JobName>(name: N, data: JobData<N>, waitMs = 20000): Promise<JobResult<N>> =>
    runner.run(name, `${name}-${data.volumeId || 'r'}-t${++seq}`, data, waitMs);
  const slotOf = (name: string): string => volumeIdFromName(name, cfg.volumePrefix);
  const createData = (id: string, sizeBytes = MiB): DiskCreateData => {
    const slot = id.split('@')[0];
    return {
      volumeId: id,
      slot,
      filePath: backingFilePath(cfg.rds.basePath, slot),
      sizeBytes,
      nqn: nqnFor(cfg.nqnPrefix, slot),
      port: cfg.rds.exportPort,
    };
  };
  const disk = (sim: RunningSimulator, slot: string) => sim.disks().find((d) => d.slot === slot);
  const timed = async (p: () => Promise<unknown>): Promise<number> => {
    const t = Date.now();
    await p();
    return Date.now() - t;
  };

  describe('each job runs against the backend its id names', () => {
    it.each([
      { backend: 'the primary (bare slot)', mark: '', here: () => simA, there: () => simB },
      { backend: 'b (<slot>@b)', mark: '@b', here: () => simB, there: () => simA },
    ])('$backend: create, expand and delete touch that RDS only', async ({ mark, here, there }) => {
      const slot = slotOf(`route${mark}`);
      const id = `${slot}${mark}`;
      await run('disk.create', createData(id));
      expect(disk(here(), slot)).toBeDefined();
      expect(disk(there(), slot)).toBeUndefined();
      await run('disk.expand', { volumeId: id, slot, sizeBytes: 2 * MiB });
      expect(disk(here(), slot)?.fileSize).toBe(2 * MiB);
      await run('disk.delete', { volumeId: id, slot, filePath: backingFilePath(cfg.rds.basePath, slot), gen: NO_RECORD_GEN });
      expect(disk(here(), slot)).toBeUndefined();
    });

    it('the same slot on both backends: deleting <slot>@b removes b’s disk and leaves the primary’s', async () => {
      const slot = slotOf('same-slot');
      await run('disk.create', createData(slot));
      await run('disk.create', createData(`${slot}@b`));
      expect([disk(simA, slot), disk(simB, slot)].every(Boolean)).toBe(true);
      // Before the delete guard took the id apart, this refused: "without a record only the id's own slot may be deleted".
      await run('disk.delete', { volumeId: `${slot}@b`, slot, gen: NO_RECORD_GEN });
      expect(disk(simB, slot)).toBeUndefined();
      expect(disk(simA, slot)).toBeDefined();
    });
  });

  describe('an id naming a backend this configuration does not have fails at once, not retried', () => {
    it.each([
      { job: 'disk.create' as const, what: 'volume', data: (slot: string) => createData(`${slot}@gone`) },
      { job: 'disk.expand' as const, what: 'volume', data: (slot: string) => ({ volumeId: `${slot}@gone`, slot, sizeBytes: 2 * MiB }) },
      { job: 'snapshot.delete' as const, what: 'snapshot', data: (slot: string) => ({ volumeId: `${slot}@gone`, slot, gen: NO_RECORD_GEN }) },
    ])('$job', async ({ job, what, data }) => {
      const slot = slotOf(`unknown-${job}`);
      const id = `${slot}@gone`;
      const jobId = `${job}-${id}-t${++seq}`;
      const started = Date.now();
      const err = (await runner.run(job, jobId, data(slot), 20000).catch((e: unknown) => e)) as Failure;
      expect(err).toBeInstanceOf(Failure);
      expect(err.kind).toBe('precondition');
      expect(err.message).toBe(`${what} ${id} is on backend gone, which this driver's configuration does not have`);
      // One attempt, no backoff (cfg: 3 attempts, 100 ms backoff).
      const failed = (await producer.queue.getJob(jobId)) as Job;
      expect(failed.attemptsMade).toBe(1);
      expect(Date.now() - started).toBeLessThan(5000);
      expect([disk(simA, slot), disk(simB, slot)]).toEqual([undefined, undefined]);
    });
  });

  it("b at its limit (1 job at once in this worker) runs its jobs one by one and holds no worker slot: the primary's jobs run meanwhile", async () => {
    // Each RouterOS command on b takes 300 ms; a create is a few of them. The worker has 2 slots; without the
    // per-backend limit b's four jobs would take both and the primary's creates would wait behind them.
    simB.faults.set({ latencyMs: 300 });
    try {
      const bIds = [0, 1, 2, 3].map((i) => `${slotOf(`slow-${i}`)}@b`);
      const bJobs = bIds.map((id) => run('disk.create', createData(id), 60000));
      await new Promise((r) => setTimeout(r, 200)); // b's jobs are taken first
      const primary: number[] = [];
      for (const i of [0, 1, 2]) primary.push(await timed(() => run('disk.create', createData(slotOf(`fast-${i}`)))));
      await Promise.all(bJobs);
      // The last b run took 4+ commands x 300 ms; each primary create took far less than one b job.
      const one = await timed(() => run('disk.create', createData(`${slotOf('slow-one')}@b`)));
      expect(Math.max(...primary)).toBeLessThan(one);
      // b's runs never overlapped: each run's [processedOn, finishedOn] (BullMQ's times of the run that completed).
      const jobs = (await producer.queue.getJobs(['completed'])).filter((j) => bIds.includes((j.data as { volumeId: string }).volumeId));
      const spans = jobs.map((j) => [j.processedOn ?? 0, j.finishedOn ?? 0]).sort((x, y) => x[0] - y[0]);
      expect(spans).toHaveLength(4);
      for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][1]);
    } finally {
      simB.faults.clear();
    }
  });

  describe('reconcilers per backend', () => {
    it('start-up enqueues reconcile.state and schedules reconcile.orphans once per backend', async () => {
      const schedulers = (await producer.queue.getJobSchedulers()).map((s) => s.key).sort();
      expect(schedulers).toEqual(['reconcile.attachments', 'reconcile.orphans', 'reconcile.orphans@b']);
      const stateJobs = (await producer.queue.getJobs(['completed', 'failed', 'waiting', 'active', 'delayed'])).filter(
        (j) => j.name === 'reconcile.state',
      );
      expect(stateJobs.map((j) => (j.data as { backend?: string }).backend ?? 'primary').sort()).toEqual(['b', 'primary']);
      expect(stateJobs.map((j) => j.id?.replace(/-\d+$/, '')).sort()).toEqual(['reconcile.state', 'reconcile.state@b']);
    });

    it("a worker starting without a backend removes that backend's orphan reconciler, never the primary's", async () => {
      await producer.schedule('reconcile.orphans', 3600000, 'old');
      const second = await startWorker(cfg, createLogger(cfg.logLevel));
      await second.close();
      const schedulers = (await producer.queue.getJobSchedulers()).map((s) => s.key).sort();
      expect(schedulers).toEqual(['reconcile.attachments', 'reconcile.orphans', 'reconcile.orphans@b']);
    });

    it('reconcile.state rebuilds each backend from its own disks under its own ids, whichever runs first', async () => {
      const only = slotOf('rebuild-b-only');
      const both = slotOf('rebuild-both');
      await run('disk.create', createData(`${only}@b`));
      await run('disk.create', createData(`${both}@b`, 2 * MiB));
      await run('disk.create', createData(both));
      // The worker the previous case started enqueued its start-up reconcile.state (one job id per minute): in a new
      // minute that run is a second one, and it rebuilds the primary's earlier disks. Let it finish, then start from
      // no records, as this case means to.
      await waitFor(
        async () => (await producer.queue.getJobs(['waiting', 'active', 'delayed', 'prioritized'])).every((j) => j.name !== 'reconcile.state'),
        20000,
        'the start-up reconcile.state runs to finish',
      );
      for (const r of (await state.volumes.page(undefined, 1000)).records) await state.volumes.remove(r.id, r.gen);
      expect(await state.volumes.count()).toBe(0);
      // b first: before the per-backend check, the primary's run then saw b's records and rebuilt nothing.
      await run('reconcile.state', { volumeId: '', backend: 'b' });
      await run('reconcile.state', { volumeId: '' });
      expect(await state.volumes.get(`${only}@b`)).toMatchObject({ slot: only, rebuilt: true });
      expect(await state.volumes.get(only)).toBeUndefined();
      expect(await state.volumes.get(`${both}@b`)).toMatchObject({ slot: both, capacityBytes: 2 * MiB });
      expect(await state.volumes.get(both)).toMatchObject({ slot: both, capacityBytes: MiB });
      // A second run per backend changes nothing: each backend holds records now.
      expect(await run('reconcile.state', { volumeId: '', backend: 'b' })).toEqual({ volumes: 0, snapshots: 0 });
    });

    it("reconcile.orphans judges each backend's disks against that backend's records only, keeping the other's sightings", async () => {
      // x: a record on the primary only; y: a record on b only. Both slots have a disk on both RDS.
      const x = slotOf('orphan-x');
      const y = slotOf('orphan-y');
      for (const id of [x, `${x}@b`, y, `${y}@b`]) await run('disk.create', createData(id));
      const template = (await state.volumes.get(slotOf('rebuild-both')))!;
      const rec = (id: string, slot: string) => ({ ...template, id, slot, filePath: backingFilePath(cfg.rds.basePath, slot), rebuilt: false });
      await state.volumes.claim(rec(x, x));
      await state.volumes.claim(rec(`${y}@b`, y));
      await run('reconcile.orphans', { volumeId: '' });
      await run('reconcile.orphans', { volumeId: '', backend: 'b' });
      const seen = Object.keys(await state.sightings.all());
      const key = (mark: string, slot: string) => `${mark}disk:${slot}:${backingFilePath(cfg.rds.basePath, slot)}`;
      // On b, x's disk is an orphan although the primary has a record of slot x; y's is known. And the reverse.
      expect(seen).toEqual(expect.arrayContaining([key('@b:', x), key('', y)]));
      expect(seen).not.toContain(key('@b:', y));
      expect(seen).not.toContain(key('', x));
    });
  });

  it("a deleted node's attachment of a volume on b is cleared through a fence.detach naming the disk's own slot", async () => {
    const slot = slotOf('gone-node');
    const id = `${slot}@b`;
    await state.attachments.put({
      volumeId: id,
      nodes: { 'node-gone': { readonly: false, attachedAt: new Date().toISOString(), publishContext: {} } },
    });
    await run('reconcile.attachments', { volumeId: '' });
    const detach = (await producer.queue.getJobs(['completed', 'failed', 'waiting', 'active', 'delayed'])).find(
      (j) => j.name === 'fence.detach' && (j.data as { volumeId: string }).volumeId === id,
    );
    // Before: the slot was the whole id, `<slot>@b`, a disk no RDS has (storage-side fencing then failed the detach).
    expect(detach?.data).toMatchObject({ volumeId: id, nodeId: 'node-gone', slot, reason: 'node-deleted' });
  });

  it("b's RDS down: b's jobs fail at once (UNAVAILABLE once its breaker is open), the primary's creates stay prompt", async () => {
    const before: number[] = [];
    for (const i of [0, 1, 2]) before.push(await timed(() => run('disk.create', createData(slotOf(`before-${i}`)))));
    await simB.faults.setDown(true);
    try {
      const bJobs = [0, 1, 2, 3].map((i) => run('disk.create', createData(`${slotOf(`dead-${i}`)}@b`), 30000).catch((e: unknown) => e as Failure));
      const during: number[] = [];
      for (const i of [0, 1, 2]) during.push(await timed(() => run('disk.create', createData(slotOf(`during-${i}`)))));
      const outcomes = await Promise.all(bJobs);
      expect(outcomes.map((o) => o instanceof Failure && o.kind)).toEqual(['unavailable', 'unavailable', 'unavailable', 'unavailable']);
      // Measured on the shared 2-core box (round 6, two runs): before 9-77 ms per create, while b is down 14-194 ms.
      expect(Math.max(...during)).toBeLessThan(Math.max(1500, 5 * Math.max(...before)));
    } finally {
      await simB.faults.setDown(false);
    }
  });

  describe('a hung extra backend without its own concurrency (default limit: half the worker slots)', () => {
    // A black-holed RDS: TCP connects and nothing ever answers, so every attempt of c's jobs holds its worker slot for
    // c's connect timeout (3 s) and retries. Its own worker on its own queue prefix: primary (simA) and c, neither
    // with `concurrency`, 2 worker slots; a burst of c's jobs larger than that.
    const hangMs = 3000;
    let hole: net.Server;
    const held = new Set<net.Socket>();
    let hung: Stack;

    beforeAll(async () => {
      hole = net.createServer((sock) => {
        held.add(sock);
        sock.on('close', () => held.delete(sock));
      });
      await new Promise<void>((r) => hole.listen(0, '127.0.0.1', r));
      const c = {
        name: 'c',
        host: '127.0.0.1',
        port: (hole.address() as net.AddressInfo).port,
        password: 'secret',
        connectTimeoutMs: hangMs,
        callTimeoutMs: hangMs,
      };
      const hungCfg = loadConfig({ ...cfgOverrides(), queuePrefix: 'rds-csi-hung', backends: JSON.stringify([c]) }, {});
      hung = await startStack(hungCfg, redis.url);
    });
    afterAll(async () => {
      await hung.close(); // waits for c's attempts in flight (at most hangMs each)
      for (const sock of held) sock.destroy();
      await new Promise((r) => hole.close(r));
    });

    it("c's burst holds at most half the slots: the primary's creates finish promptly meanwhile", async () => {
      const cIds = [0, 1, 2, 3].map((i) => `${slotOf(`hung-${i}`)}@c`);
      for (const id of cIds) await hung.producer.add('disk.create', createData(id), `disk.create-${id}`);
      await new Promise((r) => setTimeout(r, 200)); // c's jobs are taken first
      const primary: number[] = [];
      for (const i of [0, 1, 2]) {
        const slot = slotOf(`beside-hung-${i}`);
        primary.push(await timed(() => hung.runner.run('disk.create', `disk.create-${slot}`, createData(slot), 20000)));
        expect(disk(simA, slot)).toBeDefined();
      }
      // Without the default, c's jobs took both slots and the first primary create waited behind them (measured on
      // main: 5.9 s, two rounds of c attempts); with it one slot stays free and a create takes well under a second.
      expect(Math.max(...primary)).toBeLessThan(hangMs / 2);
      // And c was hung all along: none of its creates has finished (failed or done).
      const cJobs = await Promise.all(cIds.map((id) => hung.producer.queue.getJob(`disk.create-${id}`)));
      expect(cJobs.map((j) => j?.finishedOn)).toEqual([undefined, undefined, undefined, undefined]);
    });
  });
});
