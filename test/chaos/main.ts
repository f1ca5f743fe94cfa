import { writeFileSync } from 'node:fs';
import { reportTable, runKillStorm } from './run';

/**
 * `npm run test:chaos`: a kill-storm soak of CHAOS_DURATION_S seconds (default 1200) with at most CHAOS_VOLUMES
 * volume lifecycles (default 0 = as many as the duration allows), CHAOS_LANES at once (default 12). Prints the
 * report as a table and JSON (also written to CHAOS_REPORT, default ./chaos-report.json); exits 1 on any finding.
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
    a.wireMismatch.length;
  process.exitCode = bad > 0 ? 1 : 0;
}

// Ctrl-C / SIGTERM: exit, and the 'exit' hook of cluster.ts kills every child (Redis, simulator, controllers, workers).
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 2;
});
