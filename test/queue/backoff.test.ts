import type { MinimalJob } from 'bullmq';
import { CAPPED_BACKOFF, cappedBackoffDelay, cappedBackoffStrategy, retryOptions } from '../../src/queue/backoff';

/** The capped backoff between a job's attempts (issue 11 item 10): exponential with jitter, never above the cap. */
describe('capped backoff', () => {
  // attemptsMade, base, cap, random → delay
  it.each([
    [1, 500, 5000, 1, 500],
    [1, 500, 5000, 0, 250],
    [2, 500, 5000, 1, 1000],
    [4, 500, 5000, 1, 4000],
    [5, 500, 5000, 1, 5000], // 8000 uncapped
    [5, 500, 5000, 0, 2500],
    [9, 500, 5000, 1, 5000], // 128 s uncapped: what issue 11 saw
    [23, 500, 5000, 0.5, 3750],
    [2000, 500, 5000, 1, 5000], // 2^1999 overflows to Infinity: still the cap
    [0, 500, 5000, 1, 500],
    [3, 10_000, 5000, 1, 5000], // a base above the cap is the cap
  ])('after %i attempts (base %i ms, cap %i ms, random %p) waits %i ms', (attemptsMade, base, cap, random, expected) => {
    expect(cappedBackoffDelay(attemptsMade, base, cap, () => random)).toBe(expected);
  });

  it('never exceeds the cap nor goes below half of it once the cap is reached, whatever the jitter', () => {
    for (let attempts = 1; attempts <= 100; attempts++) {
      for (const r of [0, 0.001, 0.25, 0.5, 0.999, 1]) {
        const d = cappedBackoffDelay(attempts, 500, 5000, () => r);
        expect(d).toBeLessThanOrEqual(5000);
        expect(d).toBeGreaterThanOrEqual(attempts >= 5 ? 2500 : 250);
      }
    }
  });

  it('the Worker strategy takes the base from the job and the cap from the worker', () => {
    const strategy = cappedBackoffStrategy(2000, 100);
    const job = (opts: MinimalJob['opts']): MinimalJob => ({ opts }) as unknown as MinimalJob;
    const samples = Array.from({ length: 200 }, (_, i) =>
      Number(strategy(1 + (i % 20), CAPPED_BACKOFF, undefined, job({ backoff: { type: CAPPED_BACKOFF, delay: 300 } }))),
    );
    expect(Math.max(...samples)).toBeLessThanOrEqual(2000);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(150);
    expect(Number(strategy(1, CAPPED_BACKOFF, undefined, job({})))).toBeLessThanOrEqual(100); // no job delay: the worker's base
  });

  it('is what every job is enqueued with', () => {
    expect(retryOptions({ attempts: 10, backoffMs: 500 })).toEqual({ attempts: 10, backoff: { type: CAPPED_BACKOFF, delay: 500 } });
  });
});
