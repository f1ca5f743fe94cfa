/**
 * Preloaded into the bench's child processes (`node --require loop-probe.js`): measures the event loop of that
 * process without touching its code. On SIGUSR2 it writes what it saw since the previous SIGUSR2 to
 * $BENCH_LOOP_PROBE_DIR/<pid>.json (event-loop delay percentiles and utilization) and starts afresh.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';

export interface LoopReport {
  pid: number;
  /** Event-loop delay (how late timers fire), ms. */
  delayMs: { mean: number; p50: number; p99: number; max: number };
  /** Share of the time the loop was busy (0..1). */
  utilization: number;
}

const dir = process.env.BENCH_LOOP_PROBE_DIR;
if (dir) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let elu: EventLoopUtilization = performance.eventLoopUtilization();
  process.on('SIGUSR2', () => {
    const now = performance.eventLoopUtilization();
    const d = performance.eventLoopUtilization(now, elu);
    const report: LoopReport = {
      pid: process.pid,
      delayMs: { mean: h.mean / 1e6, p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 },
      utilization: d.utilization,
    };
    writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify(report));
    h.reset();
    elu = now;
  });
}
