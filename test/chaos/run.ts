import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { auditSimulator, queueCounts, type AuditResult, type QueueCounts } from './audit';
import { ChaosLoop, faultPlan, type KillCounts } from './chaos-loop';
import { ChaosCluster, RDS_CALL_TIMEOUT_MS } from './cluster';
import { SimAdmin, untilReachable } from './sim-admin';
import { Workload, type OpStat } from './workload';

/**
 * One kill-storm: cluster up, workload on, phase 1 (process kills, Redis killed at least once), phase 2 (RouterOS
 * faults), then everything cleared and the time measured until every operation in flight has its final answer and
 * the queue holds no unfinished job; then the audit of the simulator's own state.
 */

export interface ChaosOptions {
  durationS: number;
  /** Most volume lifecycles started (0 = no limit; the duration bounds the run). */
  volumes: number;
  lanes: number;
  /** Per-command latency of the simulator (plus jitter) that keeps jobs in flight when processes die. */
  latencyMs: number;
  jitterMs: number;
  /** How long the RDS stays down in phase 2. */
  downMs: number;
  /** Scale of the other faults' hold times (1 = soak). */
  faultScale: number;
  callTimeoutMs: number;
  opGiveUpMs: number;
  /** After the faults are cleared: the longest wait for the queue to drain. */
  drainTimeoutMs: number;
  dir?: string;
  log?: (msg: string) => void;
}

export interface ChaosReport {
  durationS: number;
  dir: string;
  volumes: number;
  operations: number;
  operationsByMethod: Record<string, OpStat>;
  finalErrors: number;
  unanswered: number;
  kills: KillCounts;
  faults: string[];
  lost: number;
  leaked: number;
  duplicated: number;
  wrongSize: number;
  wrongExport: number;
  stuck: number;
  /** Faults cleared and kills stopped → every operation in flight had its final answer. */
  clearedToAnsweredMs: number;
  /** Faults cleared → answered and the queue drained (no waiting/active/delayed job but the schedulers'). */
  clearedToAllDoneMs: number;
  audit: AuditResult;
  queue: QueueCounts;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runKillStorm(o: ChaosOptions): Promise<ChaosReport> {
  const dir = o.dir ?? mkdtempSync(path.join(os.tmpdir(), 'rds-csi-chaos-'));
  const log = o.log ?? ((): void => undefined);
  const cluster = new ChaosCluster(dir);
  const chaos = new ChaosLoop(cluster, log);
  let workload: Workload | undefined;
  let admin: SimAdmin | undefined;
  try {
    await cluster.startRedis();
    await cluster.startSimulator(o.latencyMs, o.jitterMs);
    const controllers = [cluster.addMember('controller', 'controller-1'), cluster.addMember('controller', 'controller-2')];
    cluster.addMember('worker', 'worker-1');
    cluster.addMember('worker', 'worker-2');
    await Promise.all(cluster.members.map((m) => cluster.start(m)));
    log(`cluster up in ${dir} (redis ${cluster.redisPort}, simulator ${cluster.simPort})`);

    workload = new Workload({
      endpoints: controllers.map((c) => c.endpoint ?? ''),
      lanes: o.lanes,
      maxVolumes: o.volumes,
      callTimeoutMs: o.callTimeoutMs,
      opGiveUpMs: o.opGiveUpMs,
    });
    const t0 = Date.now();
    const end = t0 + o.durationS * 1000;
    const phase1Ms = o.durationS * 600;
    // Redis dies at a third of phase 1, and again every 5 minutes of a long soak.
    const redisAt = [phase1Ms / 3];
    for (let t = phase1Ms / 3 + 300000; t < phase1Ms - 30000; t += 300000) redisAt.push(t);
    workload.start();
    log('phase 1: process kills');
    chaos.startKills(redisAt);
    const progress = setInterval(
      () =>
        log(
          `ops ${workload?.totalOps ?? 0}, volumes ${workload?.volumes.length ?? 0}, in flight ${workload?.inFlight ?? 0}, kills ${JSON.stringify({ ...chaos.kills, crashes: chaos.kills.crashes.length })}`,
        ),
      15000,
    );
    await sleep(phase1Ms);
    await chaos.stopKills();
    log('phase 2: RouterOS faults');
    const adm = new SimAdmin(cluster.simPort);
    admin = adm;
    await untilReachable(() => adm.call(['/simulator/fault/print']), 30000);
    await chaos.runFaults(
      adm,
      faultPlan(RDS_CALL_TIMEOUT_MS, o.downMs).map((s) => (s.name.startsWith('RDS down') ? s : { ...s, holdMs: s.holdMs * o.faultScale })),
      o.latencyMs,
      o.jitterMs,
      end,
    );
    await untilReachable(() => adm.clearFaults(o.latencyMs, o.jitterMs), 60000);
    await chaos.reviveCrashed();
    const cleared = Date.now();
    log('faults cleared; waiting for every operation in flight');
    await workload.finish();
    const answered = Date.now();
    let queue = await queueCounts(cluster.redisUrl);
    while (queue.stuck.length > 0 && Date.now() - answered < o.drainTimeoutMs) {
      await sleep(500);
      queue = await queueCounts(cluster.redisUrl);
    }
    const allDone = Date.now();
    clearInterval(progress);
    await chaos.reviveCrashed();
    const audit = await auditSimulator(cluster.simDataDir, adm, workload.volumes);
    const ops = workload.ops;
    const sum = (f: (s: OpStat) => number): number => Object.values(ops).reduce((n, s) => n + f(s), 0);
    return {
      durationS: Math.round((Date.now() - t0) / 1000),
      dir,
      volumes: workload.volumes.length,
      operations: workload.totalOps,
      operationsByMethod: ops,
      finalErrors: sum((s) => Object.values(s.finalErrors).reduce((a, b) => a + b, 0)),
      unanswered: sum((s) => s.unanswered),
      kills: chaos.kills,
      faults: chaos.faultLog.map((f) => f.name),
      lost: audit.lost.length,
      leaked: audit.leaked.length,
      duplicated: audit.duplicated.length,
      wrongSize: audit.wrongSize.length,
      wrongExport: audit.wrongExport.length,
      stuck: queue.stuck.length,
      clearedToAnsweredMs: answered - cleared,
      clearedToAllDoneMs: allDone - cleared,
      audit,
      queue,
    };
  } finally {
    admin?.close();
    workload?.close();
    await cluster.stop();
  }
}

/** The figures as a table (the JSON report has the details). */
export function reportTable(r: ChaosReport): string {
  const rows: Array<[string, string | number]> = [
    ['duration (s)', r.durationS],
    ['volumes', r.volumes],
    ['operations (final answers)', r.operations],
    ['  of which final errors', r.finalErrors],
    ['  unanswered (gave up)', r.unanswered],
    ['kills controller / worker / redis', `${r.kills.controller} / ${r.kills.worker} / ${r.kills.redis}`],
    ['crashes (died unkilled)', r.kills.crashes.length],
    ['RouterOS faults injected', r.faults.length],
    ['lost', r.lost],
    ['leaked', r.leaked],
    ['duplicated', r.duplicated],
    ['wrong size', r.wrongSize],
    ['wrong export', r.wrongExport],
    ['stuck jobs', r.stuck],
    ['faults cleared → all answered (ms)', r.clearedToAnsweredMs],
    ['faults cleared → all done (ms)', r.clearedToAllDoneMs],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
