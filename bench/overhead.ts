import path from 'node:path';
import { volumeIdFromName } from '../src/domain/ids';
import { errorCode } from './support/csi';
import { bullmqFloor } from './support/bullmq-floor';
import { coldFloors, type ColdFloors } from './support/cold-floors';
import { DirectCreator } from './support/direct';
import { completedJobs, flushRedis, histogramTotals, redisPingMs, scrape, traceRedis, type JobTimes, type TraceEntry } from './support/redis-probe';
import { startStack, commandDelta, type Topology } from './support/stack';
import { diffByPercentile, summarize, type Summary } from './support/stats';

/** The bench stack runs the controller with the default configuration, whose volumePrefix is empty. */
const BENCH_VOLUME_PREFIX = '';

/**
 * Part (a), queue overhead: N sequential CreateVolume calls over gRPC (controller → Redis/BullMQ → worker →
 * simulator) against N sequential direct runs of the same two processors on an RdsPort, with the simulator at a
 * fixed latency per command. The two kinds alternate (and swap order every iteration), so both see the same
 * simulator state and machine load. After each pair both volumes are removed again from the simulator (at 0 ms
 * latency, outside the timed calls): its /file/print and /disk/print cost grows with the files it holds, and a
 * growing pool would let the simulator, not the driver, set both numbers.
 */

export interface OverheadOptions {
  dir: string;
  redisUrl: string;
  topology: Topology;
  latencyMs: number;
  n: number;
  warmup: number;
  concurrency: number;
}

export interface Breakdown {
  /** client send → disk.create added (gRPC, validation, record claim, Job.fromId, queue.add up to its timestamp) */
  enqueue: Summary;
  /** disk.create added → taken by the worker */
  pickupCreate: Summary;
  /** disk.create taken → finished (lease + processor + moveToFinished) */
  runCreate: Summary;
  /** disk.create finished → client has the reply (completed event, record update, gRPC reply); one job per create (issue 14) */
  reply: Summary;
}

export interface Diagnostics {
  /** A gRPC call that touches neither Redis nor RDS (Identity.GetPluginInfo) to the same controller. */
  grpcNoopMs: Summary;
  /** One no-op BullMQ job (add → completed event) with the worker in the bench process: the queue's floor. */
  bullmqNoopJobMs: Summary;
  /** Round trip of one PING from this process to the bench's redis-server, while idle. */
  redisPingMs: Summary;
  /** The same floors after idle time, as a create meets them, and the least the fixed shape costs (cold-floors.ts); absent in older results. */
  cold?: ColdFloors;
  /**
   * Redis during one CreateVolume through the queue on the idle system (MONITOR): round trips (commands sent by
   * clients, scripts counted once) per connection, commands run inside scripts, and the trace itself.
   */
  redisPerCreate: { roundTrips: number; byConnection: Record<string, number>; insideScripts: number; trace: TraceEntry[] };
  /** Mean RouterOS call time (RdsPort histogram) during the measured runs, ms. */
  routerosCallMs: { jobProcess: number; direct: number };
  /** Mean of the worker's job histogram (processor + lease release, without lease acquire) by job type, ms. */
  jobHandlerMs: Record<string, number>;
  /** Mean time of each processor in the direct runs, ms. */
  directProcessorMs: Record<string, number>;
  /** Means of the first and the last tenth of the runs: the simulator's cost grows with the files it holds. */
  drift: { queueFirst: number; queueLast: number; directFirst: number; directLast: number };
}

export interface OverheadResult {
  topology: Topology;
  latencyMs: number;
  n: number;
  queue: Summary;
  direct: Summary;
  /** queue percentile − direct percentile */
  overheadByPercentile: { mean: number; p50: number; p90: number; p99: number };
  /** distribution of the per-iteration difference queue_i − direct_i (adjacent runs) */
  pairedDifference: Summary;
  commandsPerCreate: { queue: number; direct: number; byCommand: { queue: Record<string, number>; direct: Record<string, number> } };
  breakdown?: Breakdown;
  diagnostics: Diagnostics;
  errors: Record<string, number>;
  wallSeconds: number;
}

export async function runOverhead(o: OverheadOptions): Promise<OverheadResult> {
  const started = Date.now();
  await flushRedis(o.redisUrl);
  const stack = await startStack({
    dir: path.join(o.dir, `overhead-${o.topology}`),
    redisUrl: o.redisUrl,
    latencyMs: o.latencyMs,
    concurrency: o.concurrency,
    topology: o.topology,
  });
  const direct = new DirectCreator(stack.sim.port);
  // Its own RdsPort (and metrics): removals never mix with the measured calls.
  const cleaner = new DirectCreator(stack.sim.port);
  const errors: Record<string, number> = {};
  const count = (e: unknown): void => {
    const c = errorCode(e);
    errors[c] = (errors[c] ?? 0) + 1;
  };
  try {
    const tag = o.topology === 'separate-worker' ? 'a' : 'b';
    // Warm-up: connections, JIT, the worker's first blocking fetch. Not measured.
    for (let i = 0; i < o.warmup; i++) {
      await stack.client.createVolume(`bench-${tag}-warm-q-${i}`, 30000);
      await direct.create(`bench-${tag}-warm-d-${i}`);
    }

    // Floors on this machine: a Redis round trip, a gRPC call that does no work, a BullMQ job that does no work.
    const pings = await redisPingMs(o.redisUrl, 200);
    const grpcNoop: number[] = [];
    for (let i = 0; i < 220; i++) {
      const t = process.hrtime.bigint();
      await stack.client.pluginInfo(5000);
      if (i >= 20) grpcNoop.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const floor = await bullmqFloor(o.redisUrl, 200);

    // Commands per create, each way, measured on one call (must be equal: same processors, same RdsPort calls);
    // the queued one with every Redis command it causes.
    let s0 = await stack.sim.stats();
    const tracer = await traceRedis(o.redisUrl);
    await stack.client.createVolume(`bench-${tag}-count-q`, 30000);
    const names = await tracer.clients();
    const trace = await tracer.stop();
    const perQueue = commandDelta(s0, await stack.sim.stats());
    s0 = await stack.sim.stats();
    await direct.create(`bench-${tag}-count-d`);
    const perDirect = commandDelta(s0, await stack.sim.stats());
    // After the count: the ~10 s these take outlive the worker's cached pool reading (pool-space.ts), whose refresh
    // would then be counted as a command of the create.
    const cold = await coldFloors(stack.client, o.redisUrl, stack.dir);

    const q: number[] = [];
    const d: number[] = [];
    const dCreate: number[] = [];
    const paired: number[] = [];
    const clientTimes = new Map<string, { t0: number; t1: number }>();
    const runQueue = async (i: number): Promise<number | undefined> => {
      const name = `bench-${tag}-q-${i}`;
      const t0 = Date.now();
      const h0 = process.hrtime.bigint();
      try {
        await stack.client.createVolume(name, 30000);
      } catch (e) {
        count(e);
        return undefined;
      }
      const dt = Number(process.hrtime.bigint() - h0) / 1e6;
      clientTimes.set(volumeIdFromName(name, BENCH_VOLUME_PREFIX), { t0, t1: Date.now() });
      q.push(dt);
      return dt;
    };
    const runDirect = async (i: number): Promise<number | undefined> => {
      const h0 = process.hrtime.bigint();
      try {
        const steps = await direct.create(`bench-${tag}-d-${i}`);
        dCreate.push(steps.createMs);
      } catch (e) {
        count(e);
        return undefined;
      }
      const dt = Number(process.hrtime.bigint() - h0) / 1e6;
      d.push(dt);
      return dt;
    };
    /** Outside the timed calls: the two volumes of iteration `i` leave the simulator's pool again. */
    const cleanUp = async (names: string[]): Promise<void> => {
      await stack.sim.setLatency(0);
      for (const n of names) await cleaner.remove(n);
      await stack.sim.setLatency(o.latencyMs);
    };
    await cleanUp([
      ...Array.from({ length: o.warmup }, (_, i) => [`bench-${tag}-warm-q-${i}`, `bench-${tag}-warm-d-${i}`]).flat(),
      `bench-${tag}-count-q`,
      `bench-${tag}-count-d`,
    ]);
    const jm0 = await scrape(stack.jobMetricsPort);
    const dm0 = await direct.metricsText();
    for (let i = 0; i < o.n; i++) {
      let a: number | undefined;
      let b: number | undefined;
      if (i % 2 === 0) {
        a = await runQueue(i);
        b = await runDirect(i);
      } else {
        b = await runDirect(i);
        a = await runQueue(i);
      }
      if (a !== undefined && b !== undefined) paired.push(a - b);
      await cleanUp([`bench-${tag}-q-${i}`, `bench-${tag}-d-${i}`]);
    }
    stack.assertAlive();
    const jm1 = await scrape(stack.jobMetricsPort);
    const dm1 = await direct.metricsText();
    const meanMs = (before: string, after: string, name: string, filter = ''): number => {
      const a = histogramTotals(before, name, filter);
      const b = histogramTotals(after, name, filter);
      return b.count > a.count ? ((b.sum - a.sum) / (b.count - a.count)) * 1000 : NaN;
    };
    const tenth = Math.max(1, Math.floor(o.n / 10));
    const mean = (xs: number[]): number => xs.reduce((x, y) => x + y, 0) / xs.length;
    const diagnostics: Diagnostics = {
      grpcNoopMs: summarize(grpcNoop),
      bullmqNoopJobMs: floor,
      redisPingMs: summarize(pings),
      cold,
      redisPerCreate: summarizeTrace(trace, names),
      routerosCallMs: {
        jobProcess: meanMs(jm0, jm1, 'rds_csi_routeros_call_duration_seconds'),
        direct: meanMs(dm0, dm1, 'rds_csi_routeros_call_duration_seconds'),
      },
      jobHandlerMs: {
        'disk.create': meanMs(jm0, jm1, 'rds_csi_job_duration_seconds', 'type="disk.create"'),
      },
      directProcessorMs: { 'disk.create': mean(dCreate) },
      drift: {
        queueFirst: mean(q.slice(0, tenth)),
        queueLast: mean(q.slice(-tenth)),
        directFirst: mean(d.slice(0, tenth)),
        directLast: mean(d.slice(-tenth)),
      },
    };

    const queue = summarize(q);
    const dir = summarize(d);
    return {
      topology: o.topology,
      latencyMs: o.latencyMs,
      n: o.n,
      queue,
      direct: dir,
      overheadByPercentile: diffByPercentile(queue, dir),
      pairedDifference: summarize(paired),
      commandsPerCreate: { queue: perQueue.total, direct: perDirect.total, byCommand: { queue: perQueue.byCommand, direct: perDirect.byCommand } },
      breakdown: breakdown(await completedJobs(o.redisUrl), clientTimes),
      diagnostics,
      errors,
      wallSeconds: (Date.now() - started) / 1000,
    };
  } finally {
    await direct.close();
    await cleaner.close();
    await stack.stop();
  }
}

/** Where the time of each measured gRPC create went, from the client's clock and the BullMQ job timestamps. */
function breakdown(jobs: JobTimes[], client: Map<string, { t0: number; t1: number }>): Breakdown | undefined {
  const byVolume = new Map<string, JobTimes>();
  for (const j of jobs) if (j.name === 'disk.create') byVolume.set(j.volumeId, j);
  const parts: Record<keyof Breakdown, number[]> = {
    enqueue: [],
    pickupCreate: [],
    runCreate: [],
    reply: [],
  };
  for (const [volumeId, { t0, t1 }] of client) {
    const c = byVolume.get(volumeId);
    if (!c) continue;
    parts.enqueue.push(c.addedAt - t0);
    parts.pickupCreate.push(c.processedOn - c.addedAt);
    parts.runCreate.push(c.finishedOn - c.processedOn);
    parts.reply.push(t1 - c.finishedOn);
  }
  if (parts.enqueue.length === 0) return undefined;
  return Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, summarize(v)])) as unknown as Breakdown;
}

function summarizeTrace(trace: TraceEntry[], names: Record<string, string>): Diagnostics['redisPerCreate'] {
  // Which process owns a connection, from what it ran: the record claim is the controller's, the lease the worker's.
  const role = new Map<string, string>();
  for (const e of trace) {
    if (e.source === 'lua') continue;
    const name = names[e.source] ?? '';
    let r = role.get(e.source);
    if (name.endsWith(':qe')) r = 'controller QueueEvents';
    else if (e.command.startsWith('bzpopmin')) r = 'worker blocking fetch';
    else if (e.command.includes(':state:')) r = 'controller';
    else if (e.command.includes(':lease:')) r = 'worker';
    if (r) role.set(e.source, r);
  }
  const byConnection: Record<string, number> = {};
  let insideScripts = 0;
  for (const e of trace) {
    if (e.source === 'lua') {
      insideScripts++;
      continue;
    }
    const key = role.get(e.source) ?? e.source;
    byConnection[key] = (byConnection[key] ?? 0) + 1;
  }
  const named = trace.map((e) => (e.source === 'lua' ? e : { ...e, source: role.get(e.source) ?? e.source }));
  return { roundTrips: trace.length - insideScripts, byConnection, insideScripts, trace: named };
}
