/**
 * How a job waits between its attempts (issue 11 item 10). BullMQ's built-in 'exponential' backoff has no ceiling:
 * with 10 attempts and 500 ms it reached 64–128 s, so an RDS that answered again was used minutes later. Our jobs
 * use a custom type instead, exponential with jitter but capped: BullMQ hands every backoff type it does not know
 * to the Worker's `settings.backoffStrategy` (bullmq 5 `Backoffs.calculate`/`lookupStrategy`, called from
 * `Job.shouldRetryJob` with the worker's settings), so the cap is set once, on the Worker.
 *
 * A worker without this strategy would fail such a job at its first retry ("Unknown backoff strategy"): every
 * process that runs jobs is a WorkerHost, which always installs it.
 */
import type { BackoffStrategy, JobsOptions } from 'bullmq';

export const CAPPED_BACKOFF = 'capped-exponential';

export interface RetryPolicy {
  /** Attempts per job run (a new RPC that retries a failed job starts a fresh set). */
  attempts: number;
  /** Delay before the first retry; doubles per attempt up to `backoffMaxMs`. */
  backoffMs: number;
}

/** The retry options of every job the driver enqueues. */
export function retryOptions(policy: RetryPolicy): Pick<JobsOptions, 'attempts' | 'backoff'> {
  return { attempts: policy.attempts, backoff: { type: CAPPED_BACKOFF, delay: policy.backoffMs } };
}

/**
 * Delay before the retry that follows `attemptsMade` failed attempts: `baseMs · 2^(attemptsMade-1)`, never above
 * `maxMs`, with jitter that takes up to half of it off (so retries of many jobs spread out, and never exceed the cap).
 */
export function cappedBackoffDelay(attemptsMade: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  const r = Math.min(1, Math.max(0, random()));
  return Math.max(0, Math.floor(ceiling * (0.5 + 0.5 * r)));
}

/** The Worker's `settings.backoffStrategy`: capped exponential for CAPPED_BACKOFF jobs. */
export function cappedBackoffStrategy(maxMs: number, fallbackBaseMs: number): BackoffStrategy {
  return (attemptsMade, _type, _err, job) => {
    const backoff = job?.opts.backoff;
    const base = typeof backoff === 'object' && typeof backoff.delay === 'number' ? backoff.delay : fallbackBaseMs;
    return cappedBackoffDelay(attemptsMade, base, maxMs);
  };
}
