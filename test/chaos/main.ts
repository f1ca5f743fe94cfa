import { writeFileSync } from 'node:fs';
import { PRIMARY_BACKEND } from './cluster';
import { EXTRA_BACKEND, reportTable, runKillStorm } from './run';

/**
 * `npm run test:chaos`: a kill-storm soak of CHAOS_DURATION_S seconds (default 1200) with at most CHAOS_VOLUMES
 * volume lifecycles (default 0 = as many as the duration allows), CHAOS_LANES at once (default 12). CHAOS_BACKENDS
 * (default 2; 1 = one RDS): the second RDS (backend `rds-b`, half the lanes) and, after the kills, CHAOS_BASELINE_S (default 60) of
 * baseline and then backend CHAOS_OUTAGE_BACKEND (`default` = the primary, or `rds-b`) down CHAOS_OUTAGE_S (default
 * 60). Prints the report as a table and JSON (also written to CHAOS_REPORT, default ./chaos-report.json); exits 1 on
 * any finding.
 */
function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
  return n;
}

async function main(): Promise<void> {
  const durationS = envInt('CHAOS_DURATION_S', 1200);
  const backends = envInt('CHAOS_BACKENDS', 2);
  if (backends !== 1 && backends !== 2) throw new Error('CHAOS_BACKENDS must be 1 or 2');
  const outageBackend = process.env.CHAOS_OUTAGE_BACKEND || PRIMARY_BACKEND;
  if (outageBackend !== PRIMARY_BACKEND && outageBackend !== EXTRA_BACKEND)
    throw new Error(`CHAOS_OUTAGE_BACKEND must be ${PRIMARY_BACKEND} or ${EXTRA_BACKEND}`);
  const log = (m: string): void => console.log(`${new Date().toISOString()} ${m}`);
  const report = await runKillStorm({
    durationS,
    volumes: envInt('CHAOS_VOLUMES', 0),
    lanes: envInt('CHAOS_LANES', 12),
    latencyMs: 150,
    jitterMs: 150,
    downMs: 20000,
    faultScale: 1,
    callTimeoutMs: 5000,
    opGiveUpMs: 300000,
    drainTimeoutMs: 180000,
    outage:
      backends === 2
        ? { backend: outageBackend, beforeMs: envInt('CHAOS_BASELINE_S', 60) * 1000, downMs: envInt('CHAOS_OUTAGE_S', 60) * 1000 }
        : undefined,
    dir: process.env.CHAOS_DIR || undefined,
    log,
  });
  const out = process.env.CHAOS_REPORT ?? 'chaos-report.json';
  writeFileSync(out, JSON.stringify(report, null, 2));
  console.log(reportTable(report));
  console.log(
    JSON.stringify({
      ...report,
      audit: undefined,
      queue: { counts: report.queue.counts, stuck: report.queue.stuck, failedByName: report.queue.failedByName },
    }),
  );
  const a = report.audit;
  for (const [k, list] of Object.entries({
    lost: a.lost,
    leaked: a.leaked,
    duplicated: a.duplicated,
    wrongSize: a.wrongSize,
    wrongExport: a.wrongExport,
    wireMismatch: a.wireMismatch,
    misplaced: a.misplaced,
  })) {
    for (const line of list.slice(0, 20)) console.log(`${k}: ${line}`);
  }
  const bad =
    report.lost +
    report.leaked +
    report.duplicated +
    report.wrongSize +
    report.wrongExport +
    report.stuck +
    report.unanswered +
    report.kills.crashes.length +
    a.wireMismatch.length +
    a.misplaced.length;
  process.exitCode = bad > 0 ? 1 : 0;
}

// Ctrl-C / SIGTERM: exit, and the 'exit' hook of cluster.ts kills every child (Redis, simulator, controllers, workers).
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 2;
});
