import os from 'node:os';
import path from 'node:path';
import { BenchCsiClient, errorCode } from './support/csi';
import { forkIpc } from './support/ipc-child';
import { MINIMAL_COMMANDS_PER_CREATE } from './summary';
import { DirectCreator } from './support/direct';
import { completedJobs, flushRedis, histogramTotals, meanMsByLabel, scrape } from './support/redis-probe';
import type { LoopReport } from './support/loop-probe';
import type { LockStats } from './support/sim-child';
import { cpuSecondsOf, loopReports, type Memory } from './support/procs';
import { commandDelta, startSim, startStack, type Topology } from './support/stack';
import { summarize, type Summary } from './support/stats';

/**
 * Part (b), storm: M concurrent CreateVolume calls, simulator at L ms per command, worker concurrency C. The wall
 * time is compared with the ideal = (RouterOS commands actually executed) × L ÷ C. Part (c): VmRSS of the
 * controller and worker processes before and after the storm.
 */

export interface StormOptions {
  dir: string;
  redisUrl: string;
  redisPid: number;
  latencyMs: number;
  volumes: number;
  concurrency: number;
  deadlineMs: number;
}

export interface StormResult {
  topology: Topology;
  volumes: number;
  latencyMs: number;
  concurrency: number;
  ok: number;
  errors: Record<string, number>;
  wallSeconds: number;
  commands: number;
  commandsByPath: Record<string, number>;
  logins: number;
  idealSeconds: number;
  ratioToIdeal: number;
  simulator: SimulatorLoad;
  requestLatency: Summary;
  /** Where the ratio comes from: wall ≈ commands × commandMs ÷ (average jobs running), plus the tail. */
  analysis: {
    /** Mean RouterOS command time as the worker saw it (its own histogram), ms. */
    workerCommandMs?: number;
    /** The same by command path, ms. */
    workerCommandMsByPath: Record<string, number>;
    /** Mean per job, ms: taken → finished; the worker's job histogram (processor + lease release); the RDS commands in it. */
    perJobMs: { run: number; handler: number; commands?: number };
    /** Ideal RDS only: mean real duration of a command that should take exactly the latency (event-loop lateness). */
    idealCommandMs?: number;
    /** Σ(job run time) ÷ wall: how many of the C slots were busy on average. */
    avgJobsRunning: number;
    /** Σ(job run time) ÷ commands, ms: includes lease and BullMQ bookkeeping inside the job. */
    jobMsPerCommand: number;
    /** Mean time a job waited between added and taken, ms. */
    meanPickupMs: number;
    jobs: number;
    retriedJobs: number;
    /** First job taken → last job finished, and from the first request to the first job taken, s. */
    jobSpanSeconds: number;
    startupSeconds: number;
    /** Last job finished → last reply, s. */
    drainSeconds: number;
    /** First and last job added, s after the first request: how fast the controller turns requests into jobs. */
    firstAddedSeconds: number;
    lastAddedSeconds: number;
  };
  /**
   * The least this storm can take here, whatever the queue does (stormFloor below): the gRPC part measured as 500 no-op
   * calls at once to the same controller, and the RDS part as whole rounds of C creates. Absent in older results.
   */
  floor?: StormFloor;
  /** CPU seconds used during the storm by each process, and their sum ÷ wall (cores busy on average). */
  cpu: { seconds: Record<string, number>; coresBusy: number; cores: number };
  /** Event loop of each child process during the storm (loop-probe.js). */
  eventLoop: Record<string, LoopReport>;
  memory: { beforeStorm: { controller: Memory; worker?: Memory }; afterStorm: { controller: Memory; worker?: Memory } };
}

/**
 * What the simulator itself allowed: its model lock serializes every command's own work, so the storm cannot end
 * before the lock's total held time, whatever the latency and concurrency. floor = max(ideal, lock held).
 */
export interface SimulatorLoad {
  lock: LockStats;
  lockHeldSeconds: number;
  meanHeldMs: number;
  floorSeconds: number;
  ratioToFloor: number;
}

export interface StormFloor {
  /** When the N no-op calls of one burst reached the handlers of a no-op grpc-js server, s after the burst was sent. */
  firstArrivalSeconds: number;
  lastArrivalSeconds: number;
  /** When the client had every answer of that burst, s. */
  noopAllSeconds: number;
  /** ceil(N ÷ C) rounds × the minimal commands per create × latency, s: C slots cannot run a fraction of a round. */
  roundsSeconds: number;
  /** The least the storm can take: each create's minimal commands in one of C slots, none before its request arrived. */
  seconds: number;
}

/**
 * The storm's floor on this machine, whatever the queue does. The same client sends N no-op calls at once to a
 * process that only serves them (noop-grpc.ts), which records when each reached its handler: the fastest a grpc-js
 * server here can hand this client's burst to handlers. Then each create is one job of the minimal commands ×
 * latency in one of C slots, starting no earlier than its request's arrival; taken in arrival order, each into the
 * slot free first (optimal for equal jobs), the last one ends at the floor.
 */
async function stormFloor(dir: string, o: StormOptions): Promise<StormFloor> {
  const wallMs = (): number => performance.timeOrigin + performance.now();
  const socket = path.join(dir, 'noop-grpc.sock');
  const { child } = await forkIpc('noop-grpc', [socket], dir);
  const client = new BenchCsiClient(socket);
  try {
    for (let i = 0; i < 20; i++) await client.pluginInfo(5000);
    await child.request('arrivals');
    const t0 = wallMs();
    await Promise.all(Array.from({ length: o.volumes }, () => client.pluginInfo(o.deadlineMs)));
    const noopAllSeconds = (wallMs() - t0) / 1000;
    const arrivals = ((await child.request('arrivals')) as number[]).map((a) => (a - t0) / 1000).sort((a, b) => a - b);
    const jobSeconds = (MINIMAL_COMMANDS_PER_CREATE * o.latencyMs) / 1000;
    const free = new Array<number>(o.concurrency).fill(0);
    for (const a of arrivals) {
      const slot = free.indexOf(Math.min(...free));
      free[slot] = Math.max(a, free[slot]) + jobSeconds;
    }
    return {
      firstArrivalSeconds: arrivals[0] ?? 0,
      lastArrivalSeconds: arrivals[arrivals.length - 1] ?? 0,
      noopAllSeconds,
      roundsSeconds: Math.ceil(o.volumes / o.concurrency) * jobSeconds,
      seconds: Math.max(...free),
    };
  } finally {
    client.close();
    await child.close();
  }
}

function simulatorLoad(lock: LockStats, idealSeconds: number, wallSeconds: number): SimulatorLoad {
  const lockHeldSeconds = lock.heldMs / 1000;
  const floorSeconds = Math.max(idealSeconds, lockHeldSeconds);
  return { lock, lockHeldSeconds, meanHeldMs: lock.count ? lock.heldMs / lock.count : 0, floorSeconds, ratioToFloor: wallSeconds / floorSeconds };
}

export interface DirectStormResult {
  volumes: number;
  /** Mean RouterOS call time during the storm, ms, overall and by command path. */
  routerosCallMs: number;
  routerosCallMsByPath: Record<string, number>;
  /**
   * After the storm (the simulator then holds every volume): mean time per command of a few creates made one at a
   * time, by command, ms. At 0 ms latency this is the simulator's own service time.
   */
  sequentialMsByCommand?: Record<string, number>;
  latencyMs: number;
  concurrency: number;
  wallSeconds: number;
  commands: number;
  idealSeconds: number;
  ratioToIdeal: number;
  simulator: SimulatorLoad;
  errors: Record<string, number>;
}

function countInto(errors: Record<string, number>, e: unknown): void {
  const c = errorCode(e);
  errors[c] = (errors[c] ?? 0) + 1;
}

/** topology separate-worker: against the simulator; ideal-rds-worker: against the ideal RDS (ideal-rds.ts). */
export async function runStorm(o: StormOptions, topology: Topology = 'separate-worker'): Promise<StormResult> {
  await flushRedis(o.redisUrl);
  const floor = await stormFloor(o.dir, o);
  const stack = await startStack({
    dir: path.join(o.dir, `storm-${topology}`),
    redisUrl: o.redisUrl,
    latencyMs: o.latencyMs,
    concurrency: o.concurrency,
    topology,
  });
  try {
    // Warm-up: a handful of volumes through the whole path, as many at once as the worker takes.
    await Promise.all(Array.from({ length: 8 }, (_, i) => stack.client.createVolume(`bench-storm-warm-${i}`, 30000)));
    const beforeStorm = stack.memory();
    const metricsPort = stack.jobMetricsPort;
    const text0 = await scrape(metricsPort);
    const m0 = histogramTotals(text0, 'rds_csi_routeros_call_duration_seconds');
    const warmJobs = new Set((await completedJobs(o.redisUrl)).map((j) => j.id));

    const s0 = await stack.commands();
    const e0 = stack.idealElapsedMs ? await stack.idealElapsedMs() : undefined;
    const pids: Record<string, number> = { redis: o.redisPid, simulator: stack.sim.pid };
    for (const c of stack.children) pids[c.name] = c.pid;
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSecondsOf(pid)]));
    const loopPids: Record<string, number> = { simulator: stack.sim.pid };
    for (const c of stack.children) loopPids[c.name] = c.pid;
    await loopReports(loopPids, stack.dir);
    await stack.sim.lockStats();
    const self0 = process.cpuUsage();
    const errors: Record<string, number> = {};
    const latencies: number[] = [];
    const t0 = Date.now();
    const h0 = process.hrtime.bigint();
    let lastReply = t0;
    await Promise.all(
      Array.from({ length: o.volumes }, async (_, i) => {
        const c0 = process.hrtime.bigint();
        try {
          await stack.client.createVolume(`bench-storm-${i}`, o.deadlineMs);
          latencies.push(Number(process.hrtime.bigint() - c0) / 1e6);
        } catch (e) {
          countInto(errors, e);
        }
        lastReply = Date.now();
      }),
    );
    const wallSeconds = Number(process.hrtime.bigint() - h0) / 1e9;
    const self = process.cpuUsage(self0);
    const eventLoop = await loopReports(loopPids, stack.dir);
    const lock = await stack.sim.lockStats();
    const cpuSeconds: Record<string, number> = { 'bench (gRPC client)': (self.user + self.system) / 1e6 };
    for (const [k, pid] of Object.entries(pids)) cpuSeconds[k] = cpuSecondsOf(pid) - cpu0[k];
    const delta = commandDelta(s0, await stack.commands());
    const idealElapsed = stack.idealElapsedMs && e0 !== undefined ? (await stack.idealElapsedMs()) - e0 : undefined;
    const afterStorm = stack.memory();
    stack.assertAlive();
    const text1 = await scrape(metricsPort);
    const m1 = histogramTotals(text1, 'rds_csi_routeros_call_duration_seconds');
    const handler0 = histogramTotals(text0, 'rds_csi_job_duration_seconds');
    const handler = histogramTotals(text1, 'rds_csi_job_duration_seconds');

    // The CreateVolume jobs of the storm (not the warm-up's, nor the worker's periodic reconcile jobs).
    const jobs = (await completedJobs(o.redisUrl)).filter((j) => !warmJobs.has(j.id) && j.name === 'disk.create');
    const runMs = jobs.reduce((s, j) => s + (j.finishedOn - j.processedOn), 0);
    const firstTaken = Math.min(...jobs.map((j) => j.processedOn));
    const lastFinished = Math.max(...jobs.map((j) => j.finishedOn));
    const idealSeconds = (delta.total * o.latencyMs) / o.concurrency / 1000;
    const calls = m1.count - m0.count;
    return {
      topology,
      volumes: o.volumes,
      latencyMs: o.latencyMs,
      concurrency: o.concurrency,
      ok: latencies.length,
      errors,
      wallSeconds,
      commands: delta.total,
      commandsByPath: delta.byCommand,
      logins: delta.logins,
      idealSeconds,
      ratioToIdeal: wallSeconds / idealSeconds,
      simulator: simulatorLoad(lock, idealSeconds, wallSeconds),
      requestLatency: summarize(latencies),
      analysis: {
        workerCommandMs: calls > 0 ? ((m1.sum - m0.sum) / calls) * 1000 : undefined,
        workerCommandMsByPath: meanMsByLabel(text0, text1, 'rds_csi_routeros_call_duration_seconds', 'command'),
        perJobMs: {
          run: runMs / jobs.length,
          handler: handler.count ? ((handler.sum - handler0.sum) / jobs.length) * 1000 : NaN,
          commands: idealElapsed !== undefined ? idealElapsed / jobs.length : calls > 0 ? ((m1.sum - m0.sum) * 1000) / jobs.length : undefined,
        },
        idealCommandMs: idealElapsed !== undefined ? idealElapsed / delta.total : undefined,
        avgJobsRunning: runMs / (wallSeconds * 1000),
        jobMsPerCommand: runMs / delta.total,
        meanPickupMs: jobs.reduce((s, j) => s + (j.processedOn - j.addedAt), 0) / jobs.length,
        jobs: jobs.length,
        retriedJobs: jobs.filter((j) => j.attemptsMade > 1).length,
        jobSpanSeconds: (lastFinished - firstTaken) / 1000,
        startupSeconds: (firstTaken - t0) / 1000,
        drainSeconds: (lastReply - lastFinished) / 1000,
        firstAddedSeconds: (Math.min(...jobs.map((j) => j.addedAt)) - t0) / 1000,
        lastAddedSeconds: (Math.max(...jobs.map((j) => j.addedAt)) - t0) / 1000,
      },
      floor,
      cpu: { seconds: cpuSeconds, coresBusy: Object.values(cpuSeconds).reduce((a, b) => a + b, 0) / wallSeconds, cores: os.cpus().length },
      eventLoop,
      memory: { beforeStorm, afterStorm },
    };
  } finally {
    await stack.stop();
  }
}

/**
 * The storm without the driver's queue: the same processors on one RdsPort in this process, at most C creates
 * at a time. Shows what the simulator and one RouterOS connection allow at this latency.
 */
export async function runDirectStorm(o: StormOptions, latencyMs = o.latencyMs, probeSequential = 0): Promise<DirectStormResult> {
  const sim = await startSim(path.join(o.dir, `storm-direct-${latencyMs}`), latencyMs);
  const direct = new DirectCreator(sim.port);
  try {
    await Promise.all(Array.from({ length: 8 }, (_, i) => direct.create(`bench-dstorm-warm-${i}`)));
    const s0 = await sim.stats();
    const m0 = await direct.metricsText();
    await sim.lockStats();
    const errors: Record<string, number> = {};
    let next = 0;
    const h0 = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (next < o.volumes) {
          const i = next++;
          try {
            await direct.create(`bench-dstorm-${i}`);
          } catch (e) {
            countInto(errors, e);
          }
        }
      }),
    );
    const wallSeconds = Number(process.hrtime.bigint() - h0) / 1e9;
    const lock = await sim.lockStats();
    const delta = commandDelta(s0, await sim.stats());
    const m1 = await direct.metricsText();
    const calls = histogramTotals(m1, 'rds_csi_routeros_call_duration_seconds');
    const calls0 = histogramTotals(m0, 'rds_csi_routeros_call_duration_seconds');
    const routerosCallMs = ((calls.sum - calls0.sum) / (calls.count - calls0.count)) * 1000;
    let sequentialMsByCommand: Record<string, number> | undefined;
    if (probeSequential > 0) {
      for (let i = 0; i < probeSequential; i++) await direct.create(`bench-dstorm-seq-${i}`);
      sequentialMsByCommand = meanMsByLabel(m1, await direct.metricsText(), 'rds_csi_routeros_call_duration_seconds', 'command');
    }
    const idealSeconds = (delta.total * latencyMs) / o.concurrency / 1000;
    const routerosCallMsByPath = meanMsByLabel(m0, m1, 'rds_csi_routeros_call_duration_seconds', 'command');
    return {
      volumes: o.volumes,
      routerosCallMs,
      routerosCallMsByPath,
      sequentialMsByCommand,
      latencyMs,
      concurrency: o.concurrency,
      wallSeconds,
      commands: delta.total,
      idealSeconds,
      ratioToIdeal: wallSeconds / idealSeconds,
      simulator: simulatorLoad(lock, idealSeconds, wallSeconds),
      errors,
    };
  } finally {
    await direct.close();
    await sim.close();
  }
}
