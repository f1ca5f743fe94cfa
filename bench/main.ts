import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runNodeStage, type NodeStageResult } from './node-stage';
import { printNodeRss, runNodeRss, type NodeRssResult } from './node-rss';
import { NODE_PLUGIN_NODE_OPTIONS } from './support/node-options';
import { runOverhead, type OverheadResult } from './overhead';
import { SHAPE_ROUND_TRIPS } from './support/cold-floors';
import { runDirectStorm, runStorm, type DirectStormResult, type StormResult } from './storm';
import { runScalePart } from './scale-part';
import { MINIMAL_COMMANDS_PER_CREATE, buildSummary, physicalIdealSeconds, printSummary } from './summary';
import { startRedis } from './support/redis';
import { mib, ms, round, table } from './support/stats';
import type { Topology } from './support/stack';
import { removeDirSafely } from '../src/host/safe-remove';

/**
 * `npm run bench`: issue 3, "What must be shown", last bullet. Reports ratios, not pass/fail:
 *   (a) queue overhead of CreateVolume (gRPC + BullMQ) over the same RouterOS calls made directly;
 *   (b) a storm of concurrent CreateVolume against the ideal (commands × latency ÷ worker concurrency);
 *   (c) VmRSS of the controller and worker processes after the storm;
 *   (n) NodeStage/NodeUnstage with the loop connector, and the plugin's own time beyond its host tools;
 *   (m) the node plugin process: idle RSS, RSS after 100 stage/unstage cycles, modules, start time (node-rss.ts).
 *   (s) an install of 10,000 volumes: RSS, Redis bytes per volume, List* paging, reconcile run times (scale.ts).
 * Ends with the summary table of issue 14's rows (summary.ts), also under `summary` in the JSON.
 * Writes bench-results.json in the current directory. Options: --n 200 --storm 500 --concurrency 32
 * --latency-a 5 --latency-b 20 --parts a,b,n,s (c comes with b) --scale-volumes 10000 --scale-real 200 --topologies separate-worker,in-process-worker --tmp DIR
 * --wait-idle SECONDS (wait for a quiet machine first). Everything runs on this machine: other load skews the numbers,
 * so the load average before and after each part is recorded and a busy machine is flagged.
 */

interface Options {
  n: number;
  warmup: number;
  storm: number;
  concurrency: number;
  latencyA: number;
  latencyB: number;
  parts: Set<string>;
  topologies: Topology[];
  out: string;
  tmp: string;
  /** Wait up to this many seconds for the 1-minute load average to drop below half the cores (0 = don't). */
  waitIdle: number;
  /** Part (s): volumes the install holds, and how many of them are created for real over gRPC. */
  scaleVolumes: number;
  scaleReal: number;
}

/**
 * Temp files (the simulator's backing files and state, sockets) go to tmpfs when there is one: the simulator
 * rewrites its state file on every change under one lock, and on a disk that, not the driver, would set the pace.
 */
function defaultTmp(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    n: 200,
    warmup: 20,
    storm: 500,
    concurrency: 32,
    latencyA: 5,
    latencyB: 20,
    parts: new Set(['a', 'b', 'n', 'm', 's']),
    topologies: ['separate-worker', 'in-process-worker'],
    out: path.resolve('bench-results.json'),
    tmp: defaultTmp(),
    waitIdle: 0,
    scaleVolumes: 10000,
    scaleReal: 200,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const num = (): number => {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag}: expected a positive integer, got ${value}`);
      return n;
    };
    switch (flag) {
      case '--n':
        o.n = num();
        break;
      case '--warmup':
        o.warmup = num();
        break;
      case '--storm':
        o.storm = num();
        break;
      case '--concurrency':
        o.concurrency = num();
        break;
      case '--latency-a':
        o.latencyA = num();
        break;
      case '--latency-b':
        o.latencyB = num();
        break;
      case '--parts':
        o.parts = new Set(value.split(',').map((p) => (p === 'c' ? 'b' : p)));
        break;
      case '--topologies':
        o.topologies = value.split(',') as Topology[];
        break;
      case '--out':
        o.out = path.resolve(value);
        break;
      case '--tmp':
        o.tmp = path.resolve(value);
        break;
      case '--wait-idle':
        o.waitIdle = num();
        break;
      case '--scale-volumes':
        o.scaleVolumes = num();
        break;
      case '--scale-real':
        o.scaleReal = num();
        break;
      default:
        throw new Error(`unknown option ${String(flag)}`);
    }
  }
  const known: string[] = ['separate-worker', 'in-process-worker'];
  for (const t of o.topologies as string[]) if (!known.includes(t)) throw new Error(`unknown topology ${t}`);
  return o;
}

/** Bounds one part in time; the part's own cleanup may still be running when this rejects. */
async function bounded<T>(what: string, ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([fn(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function printOverhead(r: OverheadResult): void {
  console.log(
    `\n(a) Queue overhead, ${r.topology}: ${r.n} sequential CreateVolume each way, simulator ${r.latencyMs} ms/command, ` +
      `${r.commandsPerCreate.queue} RouterOS commands per create via queue, ${r.commandsPerCreate.direct} direct`,
  );
  const row = (label: string, s: { mean: number; p50: number; p90: number; p99: number; max?: number }): string[] => [
    label,
    ms(s.mean),
    ms(s.p50),
    ms(s.p90),
    ms(s.p99),
    s.max === undefined ? '' : ms(s.max),
  ];
  console.log(
    table(
      ['ms', 'mean', 'p50', 'p90', 'p99', 'max'],
      [
        row('gRPC + queue', r.queue),
        row('direct (same RdsPort calls)', r.direct),
        row('overhead (percentile difference)', r.overheadByPercentile),
        row('overhead (paired, per iteration)', r.pairedDifference),
      ],
    ),
  );
  console.log(
    `targets: overhead p50 <= 5 ms (got ${ms(r.overheadByPercentile.p50)}), p99 <= 15 ms (issue 14) (got ${ms(r.overheadByPercentile.p99)}); ` +
      `ratio queue/direct p50 ${round(r.queue.p50 / r.direct.p50)}x, p99 ${round(r.queue.p99 / r.direct.p99)}x`,
  );
  if (Object.keys(r.errors).length) console.log(`errors: ${JSON.stringify(r.errors)}`);
  if (r.breakdown) {
    const b = r.breakdown;
    console.log('where the gRPC + queue time goes (client clock + BullMQ job timestamps, 1 ms resolution):');
    console.log(
      table(
        ['ms', 'mean', 'p50', 'p90', 'p99', 'max'],
        [
          row('client -> disk.create added', b.enqueue),
          row('disk.create waiting for a worker', b.pickupCreate),
          row('disk.create running', b.runCreate),
          row('done -> client has the reply', b.reply),
        ],
      ),
    );
  }
  const g = r.diagnostics;
  const cold = g.cold;
  const conns = Object.entries(g.redisPerCreate.byConnection)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(
    [
      'diagnostics:',
      `  floors: gRPC GetPluginInfo ${ms(g.grpcNoopMs.p50)} ms p50, ${ms(g.grpcNoopMs.p99)} ms p99; Redis PING ${ms(g.redisPingMs.p50)} ms p50; one no-op BullMQ job (add -> completed event, worker in the bench process) ${ms(g.bullmqNoopJobMs.p50)} ms p50, ${ms(g.bullmqNoopJobMs.p99)} ms p99`,
      ...(cold
        ? [
            `  the same after ${cold.gapMs} ms idle (as a create meets them): gRPC ${ms(cold.grpcNoopMs.p50)} ms p50; Redis PING ${ms(cold.redisPingMs.p50)} ms p50; ` +
              `no-op BullMQ job, worker in its own process ${ms(cold.bullmqJobMs.separateWorker.p50)} ms p50, in the same process ${ms(cold.bullmqJobMs.inProcessWorker.p50)} ms p50`,
            `  shape floor (gRPC and one job after idle + ${SHAPE_ROUND_TRIPS} back-to-back Redis round trips: claim, lease, ready): ` +
              `separate worker ${ms(cold.shapeFloorMs.separateWorker)} ms, worker in the controller ${ms(cold.shapeFloorMs.inProcessWorker)} ms (the overhead p50 cannot go below it here)`,
          ]
        : []),
      `  one CreateVolume = ${g.redisPerCreate.roundTrips} Redis round trips (+${g.redisPerCreate.insideScripts} commands inside scripts): ${conns}`,
      `  RouterOS call mean ${ms(g.routerosCallMs.jobProcess)} ms from the job process, ${ms(g.routerosCallMs.direct)} ms direct`,
      `  processor mean in the job (incl. lease release) vs direct: disk.create ${ms(g.jobHandlerMs['disk.create'])} vs ${ms(g.directProcessorMs['disk.create'])} ms`,
      `  drift, mean of first -> last tenth: gRPC + queue ${ms(g.drift.queueFirst)} -> ${ms(g.drift.queueLast)} ms, direct ${ms(g.drift.directFirst)} -> ${ms(g.drift.directLast)} ms`,
    ].join('\n'),
  );
}

function printNodeStage(r: NodeStageResult): void {
  console.log(`\n(n) NodeStage/NodeUnstage, loop connector, ${r.cycles} cycles each (ext4 with an existing filesystem; block)`);
  if (r.skipped) {
    console.log(`skipped: ${r.skipped}`);
    return;
  }
  const rows: string[][] = [];
  for (const kind of ['ext4', 'block'] as const) {
    const k = r[kind];
    if (!k) continue;
    rows.push([`${kind} NodeStageVolume`, ms(k.stage.p50), ms(k.stage.p99), ms(k.stageOwn.p50), ms(k.stageOwn.p99)]);
    rows.push([`${kind} NodeUnstageVolume`, ms(k.unstage.p50), ms(k.unstage.p99), ms(k.unstageOwn.p50), ms(k.unstageOwn.p99)]);
  }
  console.log(table(['ms', 'RPC p50', 'RPC p99', 'plugin own p50', 'plugin own p99'], rows));
  console.log('plugin own = RPC time over gRPC minus the time of the host tools it ran (losetup, blkid, mount, umount); target <= 50 ms per stage');
}

/** Part (i): the storm against the ideal RDS alone, against the physical ideal (3 commands per create). */
function printIdealStorm(x: StormResult): void {
  const physical = (3 * x.latencyMs * x.volumes) / x.concurrency / 1000;
  const j = x.analysis;
  console.log(
    `\n(i) ${x.volumes} CreateVolume against the ideal RDS, ${x.latencyMs} ms/command, concurrency ${x.concurrency}: ok ${x.ok}, errors ${JSON.stringify(x.errors)}, ` +
      `wall ${x.wallSeconds.toFixed(2)} s = ${round(x.wallSeconds / physical)}x the physical ideal ${physical.toFixed(2)} s (${x.commands} commands, own ideal ${x.idealSeconds.toFixed(2)} s)`,
  );
  console.log(
    `  ${j.jobs} jobs, ${j.avgJobsRunning.toFixed(1)} of ${x.concurrency} running on average; jobs added ${j.firstAddedSeconds.toFixed(2)}..${j.lastAddedSeconds.toFixed(2)} s, startup ${j.startupSeconds.toFixed(2)} s, jobs ${j.jobSpanSeconds.toFixed(2)} s, drain ${j.drainSeconds.toFixed(2)} s; ` +
      `per job taken -> finished ${ms(j.perJobMs.run)} ms, handler ${ms(j.perJobMs.handler)} ms, pickup ${ms(j.meanPickupMs)} ms` +
      (j.idealCommandMs === undefined ? '' : `; a ${x.latencyMs} ms command took ${ms(j.idealCommandMs)} ms`),
  );
  console.log(
    `  CPU s: ${Object.entries(x.cpu.seconds)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ')}; ${x.cpu.coresBusy.toFixed(2)} of ${x.cpu.cores} cores; loops: ${Object.entries(x.eventLoop)
      .map(([k, l]) => `${k} ${(l.utilization * 100).toFixed(0)}% p99 ${ms(l.delayMs.p99)}`)
      .join('; ')}; latency p50 ${ms(x.requestLatency.p50)} p99 ${ms(x.requestLatency.p99)}`,
  );
}

function printStorm(r: StormResult, d?: DirectStormResult, d0?: DirectStormResult, ideal?: StormResult): void {
  console.log(
    `\n(b) Storm: ${r.volumes} concurrent CreateVolume, simulator ${r.latencyMs} ms/command, worker concurrency ${r.concurrency} (separate worker process)`,
  );
  const okOf = (x: DirectStormResult): string => String(x.volumes - Object.values(x.errors).reduce((a, b) => a + b, 0));
  const row = (
    label: string,
    ok: string,
    errors: Record<string, number>,
    x: { commands: number; wallSeconds: number; idealSeconds: number; ratioToIdeal: number; simulator: StormResult['simulator'] },
    ideal = true,
  ): string[] => [
    label,
    ok,
    Object.keys(errors).length ? JSON.stringify(errors) : '0',
    String(x.commands),
    x.wallSeconds.toFixed(2),
    ideal ? x.idealSeconds.toFixed(2) : '-',
    ideal ? `${round(x.ratioToIdeal)}x` : '-',
    x.simulator.lockHeldSeconds.toFixed(2),
    ideal ? `${round(x.simulator.ratioToFloor)}x` : '-',
  ];
  const rows = [row('gRPC + queue -> simulator', String(r.ok), r.errors, r)];
  if (d) rows.push(row('direct -> simulator, C at a time', okOf(d), d.errors, d));
  if (d0) rows.push(row(`direct -> simulator at ${d0.latencyMs} ms (its capacity)`, okOf(d0), d0.errors, d0, false));
  if (ideal) rows.push(row('gRPC + queue -> ideal RDS', String(ideal.ok), ideal.errors, ideal));
  console.log(table(['', 'ok', 'errors', 'commands', 'wall s', 'ideal s', 'wall/ideal', 'sim lock s', 'wall/floor'], rows));
  console.log(
    `ideal = commands x ${r.latencyMs} ms / ${r.concurrency}; sim lock = time the simulator's model lock was held (its serialized work); ` +
      `floor = max(ideal, sim lock)`,
  );
  console.log(
    `ideal RDS = the real worker with an in-memory RdsPort where every command takes exactly ${r.latencyMs} ms, all in parallel ` +
      `(what the ideal assumes; the simulator serializes each command's own work under one lock)`,
  );
  const lockShare = r.simulator.lockHeldSeconds / r.wallSeconds;
  const pct = (x: number): string => (x * 100).toFixed(0);
  console.log(
    `target: <= 1.15x ideal. Against the simulator ${round(r.ratioToIdeal)}x (direct ${d ? `${round(d.ratioToIdeal)}x` : '-'}, ` +
      `simulator lock held ${pct(lockShare)}% of the storm: ${lockShare >= 0.3 ? 'simulator-bound' : 'driver-bound'}); ` +
      `against the ideal RDS ${ideal ? `${round(ideal.ratioToIdeal)}x` : '-'}`,
  );
  const lat = (x: StormResult): string => `p50 ${ms(x.requestLatency.p50)}, p99 ${ms(x.requestLatency.p99)}, max ${ms(x.requestLatency.max)}`;
  console.log(`CreateVolume latency ms: simulator ${lat(r)}${ideal ? `; ideal RDS ${lat(ideal)}` : ''}`);
  const a = r.analysis;
  const jobsLine = (label: string, x: StormResult): string => {
    const j = x.analysis;
    const per = j.perJobMs;
    const ideal = (x.commands / j.jobs) * x.latencyMs;
    return (
      `  ${label}: ${j.jobs} jobs (${j.retriedJobs} retried), on average ${j.avgJobsRunning.toFixed(1)} of ${x.concurrency} running; ` +
      `first job taken ${j.startupSeconds.toFixed(2)} s after the first request, jobs ran ${j.jobSpanSeconds.toFixed(2)} s, last reply ${j.drainSeconds.toFixed(2)} s after the last job\n` +
      `    per job (ms): taken -> finished ${ms(per.run)} (ideal ${ms(ideal)}) = before the processor (lease acquire, BullMQ) ${ms(per.run - per.handler)} + processor and lease release ${ms(per.handler)}, ` +
      `of which RDS commands ${per.commands === undefined ? '-' : ms(per.commands)}` +
      (j.idealCommandMs === undefined ? '' : ` (a ${x.latencyMs} ms command really took ${ms(j.idealCommandMs)} ms)`)
    );
  };
  const byPath = (m: Record<string, number>): string =>
    Object.entries(m)
      .map(([k, v]) => `${k} ${ms(v)}`)
      .join(', ');
  const lines = ['analysis:', jobsLine('simulator', r)];
  if (ideal) {
    lines.push(jobsLine('ideal RDS', ideal));
    const f = ideal.floor;
    if (f)
      lines.push(
        `  floor here (whatever the queue does): ${ideal.volumes} no-op calls at once reached a no-op grpc-js server's handlers ` +
          `${f.firstArrivalSeconds.toFixed(2)}-${f.lastArrivalSeconds.toFixed(2)} s after they were sent (all answered after ${f.noopAllSeconds.toFixed(2)} s); ` +
          `each create ${MINIMAL_COMMANDS_PER_CREATE} x ${ideal.latencyMs} ms in one of ${ideal.concurrency} slots, none before its request arrived: ` +
          `${f.seconds.toFixed(2)} s = ${round(f.seconds / physicalIdealSeconds(ideal.volumes, ideal.latencyMs, ideal.concurrency))}x physical (whole rounds alone ${f.roundsSeconds.toFixed(2)} s); ` +
          `the storm took ${round(ideal.wallSeconds / f.seconds)}x the floor`,
      );
    const c = ideal.cpu;
    lines.push(
      `  ideal RDS CPU seconds: ${Object.entries(c.seconds)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(', ')}; ${c.coresBusy.toFixed(2)} of ${c.cores} cores busy`,
    );
  }
  lines.push(
    `  RouterOS call mean (simulator latency ${r.latencyMs} ms): via queue ${a.workerCommandMs === undefined ? '-' : ms(a.workerCommandMs)} ms {${byPath(a.workerCommandMsByPath)}}`,
  );
  if (d) lines.push(`                                          direct ${ms(d.routerosCallMs)} ms {${byPath(d.routerosCallMsByPath)}}`);
  lines.push(
    `  simulator lock: ${r.simulator.lock.count} operations, mean held ${ms(r.simulator.meanHeldMs)} ms, max ${ms(r.simulator.lock.maxHeldMs)} ms, ` +
      `waited ${(r.simulator.lock.waitedMs / 1000).toFixed(2)} s in total`,
  );
  if (d0?.sequentialMsByCommand) {
    lines.push(
      `  simulator service time, 0 ms latency, one command at a time, ${d0.volumes}+ volumes in the pool: ${byPath(d0.sequentialMsByCommand)} ms`,
    );
  }
  lines.push(`  commands: ${JSON.stringify(r.commandsByPath)} (+${r.logins} logins)`);
  lines.push(
    `  simulator storm CPU seconds: ${Object.entries(r.cpu.seconds)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ')}; ${r.cpu.coresBusy.toFixed(2)} of ${r.cpu.cores} cores busy on average`,
  );
  lines.push(
    `  simulator storm event loops: ${Object.entries(r.eventLoop)
      .map(([k, l]) => `${k} busy ${(l.utilization * 100).toFixed(0)}%, delay p99 ${ms(l.delayMs.p99)} max ${ms(l.delayMs.max)} ms`)
      .join('; ')}`,
  );
  console.log(lines.join('\n'));
  console.log(`\n(c) Memory of the storm's processes (VmRSS; peak = VmHWM)`);
  const mem = (label: string, m?: { rssBytes: number; peakRssBytes: number }, after?: { rssBytes: number; peakRssBytes: number }): string[] => [
    label,
    m ? mib(m.rssBytes) : '-',
    after ? mib(after.rssBytes) : '-',
    after ? mib(after.peakRssBytes) : '-',
  ];
  console.log(
    table(
      ['MiB', 'before storm', 'after storm', 'peak'],
      [
        mem('controller', r.memory.beforeStorm.controller, r.memory.afterStorm.controller),
        mem('worker', r.memory.beforeStorm.worker, r.memory.afterStorm.worker),
      ],
    ),
  );
}

/** The code measured: HEAD and how many files differ from it (the bench builds the working tree). */
function codeVersion(): { head?: string; changedFiles?: number } {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return { head, changedFiles: changed };
  } catch {
    return {};
  }
}

function load1(): number {
  return os.loadavg()[0];
}

async function waitForQuiet(seconds: number): Promise<void> {
  const limit = os.cpus().length / 2;
  const until = Date.now() + seconds * 1000;
  while (load1() >= limit && Date.now() < until) {
    log(`load average ${load1().toFixed(2)} >= ${limit}: waiting for a quieter machine`);
    await new Promise((r) => setTimeout(r, 5000));
  }
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (o.waitIdle > 0) await waitForQuiet(o.waitIdle);
  const dir = mkdtempSync(path.join(o.tmp, 'rds-csi-bench-'));
  const started = Date.now();
  const results: Record<string, unknown> = {
    startedAt: new Date(started).toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    code: codeVersion(),
    options: { ...o, parts: [...o.parts] },
    loadAverage: { start: os.loadavg() },
  };
  const loads = results.loadAverage as Record<string, number[]>;
  const failures: string[] = [];
  // Interrupted: exit through process.exit so every child is killed (procs.ts) and the temp dir goes.
  process.on('exit', () => {
    try {
      removeDirSafely(dir);
    } catch (err) {
      process.stderr.write(`bench: ${(err as Error).message}\n`);
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping`);
      process.exit(130);
    });
  }
  const code = results.code as { head?: string; changedFiles?: number };
  log(
    `temp dir ${dir}; code ${code.head ?? '?'}${code.changedFiles ? ` + ${code.changedFiles} changed files under src/` : ''}; load average ${load1().toFixed(2)}`,
  );
  const redis = await startRedis();
  try {
    if (o.parts.has('a')) {
      const overhead: OverheadResult[] = [];
      for (const topology of o.topologies) {
        log(`(a) ${topology}: ${o.n} + ${o.n} sequential creates at ${o.latencyA} ms/command`);
        try {
          const r = await bounded(`(a) ${topology}`, 90000, () =>
            runOverhead({ dir, redisUrl: redis.url, topology, latencyMs: o.latencyA, n: o.n, warmup: o.warmup, concurrency: o.concurrency }),
          );
          overhead.push(r);
          printOverhead(r);
        } catch (err) {
          failures.push((err as Error).message);
          log(`(a) ${topology} failed: ${(err as Error).message}`);
        }
      }
      results.overhead = overhead;
      loads.afterA = os.loadavg();
    }
    if (o.parts.has('b')) {
      const so = {
        dir,
        redisUrl: redis.url,
        redisPid: redis.pid,
        latencyMs: o.latencyB,
        volumes: o.storm,
        concurrency: o.concurrency,
        deadlineMs: 120000,
      };
      let direct: DirectStormResult | undefined;
      let direct0: DirectStormResult | undefined;
      log(`(b) simulator alone: ${o.storm} direct creates, ${o.concurrency} at a time, 0 ms/command`);
      try {
        direct0 = await bounded('(b) direct storm at 0 ms', 60000, () => runDirectStorm(so, 0, 20));
        results.stormDirectZeroLatency = direct0;
      } catch (err) {
        failures.push((err as Error).message);
        log(`(b) direct baseline at 0 ms failed: ${(err as Error).message}`);
      }
      log(`(b) direct baseline: ${o.storm} creates, ${o.concurrency} at a time, ${o.latencyB} ms/command`);
      try {
        direct = await bounded('(b) direct storm', 60000, () => runDirectStorm(so));
        results.stormDirect = direct;
      } catch (err) {
        failures.push((err as Error).message);
        log(`(b) direct baseline failed: ${(err as Error).message}`);
      }
      log(`(b)+(c) storm: ${o.storm} concurrent CreateVolume against the simulator`);
      let storm: StormResult | undefined;
      try {
        storm = await bounded('(b) storm', 150000, () => runStorm(so, 'separate-worker'));
        results.storm = storm;
      } catch (err) {
        failures.push((err as Error).message);
        log(`(b) storm failed: ${(err as Error).message}`);
      }
      log(`(b) storm: ${o.storm} concurrent CreateVolume against the ideal RDS`);
      let ideal: StormResult | undefined;
      try {
        ideal = await bounded('(b) storm against the ideal RDS', 90000, () => runStorm(so, 'ideal-rds-worker'));
        results.stormIdealRds = ideal;
      } catch (err) {
        failures.push((err as Error).message);
        log(`(b) storm against the ideal RDS failed: ${(err as Error).message}`);
      }
      if (storm) printStorm(storm, direct, direct0, ideal);
    } else if (o.parts.has('i')) {
      // Only the storm against the ideal RDS (the driver alone): the quick loop while working on the storm row.
      const so = {
        dir,
        redisUrl: redis.url,
        redisPid: redis.pid,
        latencyMs: o.latencyB,
        volumes: o.storm,
        concurrency: o.concurrency,
        deadlineMs: 120000,
      };
      log(`(i) storm: ${o.storm} concurrent CreateVolume against the ideal RDS`);
      try {
        const ideal = await bounded('(i) storm against the ideal RDS', 90000, () => runStorm(so, 'ideal-rds-worker'));
        results.stormIdealRds = ideal;
        printIdealStorm(ideal);
      } catch (err) {
        failures.push((err as Error).message);
        log(`(i) storm against the ideal RDS failed: ${(err as Error).message}`);
      }
    }
    if (o.parts.has('n')) {
      log('(n) NodeStage/NodeUnstage with the loop connector');
      try {
        const r = await bounded('(n) node stage', 120000, () => runNodeStage(dir, 30));
        results.nodeStage = r;
        printNodeStage(r);
      } catch (err) {
        failures.push((err as Error).message);
        log(`(n) failed: ${(err as Error).message}`);
      }
    }
    if (o.parts.has('s')) {
      log(`(s) scale: ${o.scaleVolumes} volumes (${Math.min(o.scaleReal, o.scaleVolumes)} created over gRPC, the rest copied)`);
      try {
        const so = { dir, redisUrl: redis.url, volumes: o.scaleVolumes, real: o.scaleReal, concurrency: o.concurrency };
        results.scale = await bounded('(s) scale', 900000, () => runScalePart(so));
      } catch (err) {
        failures.push((err as Error).message);
        log(`(s) failed: ${(err as Error).message}`);
      }
      loads.afterS = os.loadavg();
    }
    if (o.parts.has('m')) {
      log('(m) node plugin footprint: a real rds-csi node, 100 stage/unstage cycles');
      try {
        const r: NodeRssResult[] = [];
        for (const nodeOptions of ['', NODE_PLUGIN_NODE_OPTIONS])
          r.push(await bounded('(m) node plugin footprint', 300000, () => runNodeRss(dir, nodeOptions)));
        results.nodeRss = r;
        printNodeRss(r);
      } catch (err) {
        failures.push((err as Error).message);
        log(`(m) failed: ${(err as Error).message}`);
      }
    }
  } finally {
    await redis.stop();
    removeDirSafely(dir);
  }
  loads.end = os.loadavg();
  results.summary = buildSummary(results);
  printSummary(results.summary as ReturnType<typeof buildSummary>);
  results.failures = failures;
  results.totalSeconds = (Date.now() - started) / 1000;
  writeFileSync(o.out, JSON.stringify(results, null, 2) + '\n');
  const busiest = Math.max(...Object.values(loads).map((l) => l[0]));
  console.log(`\nload average (1 min) start ${loads.start[0].toFixed(2)}, end ${loads.end[0].toFixed(2)} on ${os.cpus().length} cores`);
  if (busiest > os.cpus().length / 2) {
    console.log(
      `WARNING: the machine was busy with other work (load up to ${busiest.toFixed(2)}): these numbers are skewed by it; rerun on a quiet machine (--wait-idle 300)`,
    );
  }
  console.log(`\nbench finished in ${(results.totalSeconds as number).toFixed(1)} s; results in ${o.out}`);
  if (failures.length) console.log(`FAILED parts:\n  ${failures.join('\n  ')}`);
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
