import { loadConfig } from '../../src/config/load';
import { backendsFromConfig } from '../../src/rds/backends';
import type { RdsPort } from '../../src/rds/port';
import { backendJobLimit, workerBackends } from '../../src/workers/backend-set';

/**
 * Each backend's limit of jobs at once in a worker (backendJobLimit), from the configuration: its own `concurrency`
 * wins; without one, a single backend has every worker slot and, with several, each has half of them (rounded up,
 * at least 1) so one hung RDS never takes them all.
 */
describe('the per-backend job limit a worker applies', () => {
  // The worker only reads each port's pool when a job asks; none runs here.
  const port = { close: () => Promise.resolve() } as unknown as RdsPort;
  const limits = (overrides: Record<string, unknown>): Record<string, number> => {
    const cfg = loadConfig({ 'rds.host': '10.0.0.1', ...overrides }, {});
    const list = workerBackends(
      backendsFromConfig(cfg, undefined, () => port),
      60000,
      cfg.worker.concurrency,
    ).list;
    return Object.fromEntries(list.map((b) => [b.name, b.concurrency]));
  };
  const extra = (...entries: Array<{ name: string; concurrency?: number }>) => ({ backends: entries.map((e) => ({ host: '10.0.0.2', ...e })) });

  it.each([
    { what: 'one backend, nothing set: every slot (the default 16)', cfg: {}, want: { default: 16 } },
    { what: 'one backend, worker.concurrency 5', cfg: { 'worker.concurrency': 5 }, want: { default: 5 } },
    { what: 'one backend with its own concurrency', cfg: { 'primaryBackend.concurrency': 4 }, want: { default: 4 } },
    { what: 'two backends, nothing set: half each', cfg: extra({ name: 'b' }), want: { default: 8, b: 8 } },
    {
      what: 'two backends, an odd worker.concurrency rounds up',
      cfg: { 'worker.concurrency': 5, ...extra({ name: 'b' }) },
      want: { default: 3, b: 3 },
    },
    { what: 'two backends, worker.concurrency 1: at least 1', cfg: { 'worker.concurrency': 1, ...extra({ name: 'b' }) }, want: { default: 1, b: 1 } },
    { what: "an extra backend's own concurrency wins", cfg: extra({ name: 'b', concurrency: 12 }), want: { default: 8, b: 12 } },
    {
      what: "the primary's own concurrency wins, even all the slots",
      cfg: { 'primaryBackend.concurrency': 16, ...extra({ name: 'b' }) },
      want: { default: 16, b: 8 },
    },
    { what: 'three backends, nothing set: half each', cfg: extra({ name: 'b' }, { name: 'c' }), want: { default: 8, b: 8, c: 8 } },
  ])('$what', ({ cfg, want }) => {
    expect(limits(cfg)).toEqual(want);
  });

  it.each([
    [undefined, 1, 16, 16],
    [undefined, 2, 16, 8],
    [undefined, 2, 3, 2],
    [undefined, 3, 1, 1],
    [2, 1, 16, 2],
    [32, 2, 16, 32],
  ])('backendJobLimit(%p, %p backends, %p slots) = %p', (configured, count, slots, want) => {
    expect(backendJobLimit(configured, count, slots)).toBe(want);
  });
});
