import type { CreateSample } from './workload';

/** Create latencies of one backend in one window: nearest-rank percentiles of the samples that started in it. */
export interface LatencyFigures {
  n: number;
  p50: number;
  p99: number;
  max: number;
  /** Samples whose final answer was not OK (a final error or none). */
  notOk: number;
}

/** The nearest-rank `p` percentile (0 < p ≤ 100) of ascending `sorted`; 0 for none. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

/**
 * The creates of `backend` (undefined = the primary) that started in [from, to); with `finishedBy`, only those that
 * also had their final answer by then (a baseline window: a create still running when the outage began is neither).
 */
export function latencyIn(samples: CreateSample[], backend: string | undefined, from: number, to: number, finishedBy?: number): LatencyFigures {
  const mine = samples.filter(
    (s) => s.backend === backend && s.startedAt >= from && s.startedAt < to && (finishedBy === undefined || s.startedAt + s.ms <= finishedBy),
  );
  const ms = mine.map((s) => s.ms).sort((a, b) => a - b);
  return {
    n: ms.length,
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    max: ms.at(-1) ?? 0,
    notOk: mine.filter((s) => s.outcome !== 'ok').length,
  };
}
