import path from 'node:path';

/**
 * The VM tier's closing counts (scripts/vm/summary.js, used by scripts/vm/run.js --retry-failed in .ci/run): a
 * scenario that passed only on its retry is counted as passed and also counted and named apart, so an
 * intermittent failure stays visible in CI.
 */

interface Row {
  name: string;
  result: 'PASS' | 'FAIL' | 'PENDING';
  retried?: boolean;
  note?: string;
  logs?: string;
}
interface Tally {
  passed: number;
  failed: number;
  pending: number;
  retriedPasses: string[];
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a plain Node script of the VM tier, not a TS module
const summary = require(path.resolve(__dirname, '../../scripts/vm/summary.js')) as {
  tally(rows: Row[]): Tally;
  countsLine(t: Tally): string;
  retriedPassLine(first: Row): string;
};

describe('VM tier summary', () => {
  it.each<[string, Row[], Tally, string]>([
    [
      'all pass first time',
      [
        { name: 'smoke', result: 'PASS' },
        { name: 'restart', result: 'PASS' },
      ],
      { passed: 2, failed: 0, pending: 0, retriedPasses: [] },
      '2 passed, 0 failed, 0 pending',
    ],
    [
      'a pass on retry',
      [
        { name: 'smoke', result: 'PASS' },
        { name: 'outage', result: 'PASS', retried: true },
      ],
      { passed: 2, failed: 0, pending: 0, retriedPasses: ['outage'] },
      '2 passed (1 only on retry: outage), 0 failed, 0 pending',
    ],
    [
      'failed twice, and pending',
      [
        { name: 'outage', result: 'FAIL', retried: true },
        { name: 'lifecycle', result: 'PENDING' },
      ],
      { passed: 0, failed: 1, pending: 1, retriedPasses: [] },
      '0 passed, 1 failed, 1 pending',
    ],
  ])('%s', (_name, rows, counts, line) => {
    expect(summary.tally(rows)).toEqual(counts);
    expect(summary.countsLine(summary.tally(rows))).toBe(line);
  });

  it('names the scenario, the first failure and its logs when a retry passes', () => {
    expect(summary.retriedPassLine({ name: 'outage', result: 'FAIL', note: 'scenario exit 1', logs: '/var/cache/rds-csi-vm/runs/x/outage' })).toBe(
      'RETRIED PASS: outage failed its first run (scenario exit 1; logs /var/cache/rds-csi-vm/runs/x/outage) and passed the second; counted in the summary as passed only on retry',
    );
  });
});
