import { latencyIn, percentile } from './latency';
import type { CreateSample } from './workload';

/** The storm's latency figures (the outage's "before vs during" numbers) are nearest-rank percentiles per backend. */
describe('kill-storm latency figures', () => {
  it.each([
    { values: [], p: 50, want: 0 },
    { values: [7], p: 99, want: 7 },
    { values: [1, 2, 3, 4], p: 50, want: 2 },
    { values: [1, 2, 3, 4], p: 99, want: 4 },
    { values: Array.from({ length: 100 }, (_, i) => i + 1), p: 99, want: 99 },
    { values: Array.from({ length: 100 }, (_, i) => i + 1), p: 50, want: 50 },
  ])('percentile($p) of $values.length values is $want', ({ values, p, want }) => {
    expect(percentile(values, p)).toBe(want);
  });

  it('counts only the backend’s creates that started in the window, and the ones not answered OK', () => {
    const s = (backend: string | undefined, startedAt: number, ms: number, outcome = 'ok'): CreateSample => ({ backend, startedAt, ms, outcome });
    const samples = [
      s(undefined, 5, 900),
      s('rds-b', 9, 800),
      s('rds-b', 10, 300),
      s('rds-b', 15, 100),
      s('rds-b', 19, 200, 'unanswered'),
      s('rds-b', 20, 5000),
    ];
    expect(latencyIn(samples, 'rds-b', 10, 20)).toEqual({ n: 3, p50: 200, p99: 300, max: 300, notOk: 1 });
    expect(latencyIn(samples, undefined, 0, 20)).toEqual({ n: 1, p50: 900, p99: 900, max: 900, notOk: 0 });
    // A baseline counts only the creates answered by its end (15+100 = 115, 19+200 = 219, 10+300 = 310).
    expect(latencyIn(samples, 'rds-b', 10, 20, 200)).toEqual({ n: 1, p50: 100, p99: 100, max: 100, notOk: 0 });
    expect(latencyIn(samples, 'rds-b', 10, 20, 300)).toEqual({ n: 2, p50: 100, p99: 200, max: 200, notOk: 1 });
  });
});
