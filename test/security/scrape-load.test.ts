import { startHarness, type Harness } from '../support/controller-harness';
import { sharedResult } from '../../src/runtime/shared-result';

/**
 * Issue 18 item 6: /metrics and /healthz are unauthenticated, so they must not turn each request into a RouterOS
 * call. Counted on the simulator's own per-command statistics: many scrapes, at most one pool read and one ping per
 * rds.statusCacheMs.
 */
describe('HTTP scrapes do not load the RDS', () => {
  let h: Harness;
  let base: string;
  beforeAll(async () => {
    h = await startHarness({ withWorker: false, httpListen: '127.0.0.1:0' });
    base = `http://127.0.0.1:${h.controller?.http?.port}`;
  });
  afterAll(() => h.stop());

  const diskPrints = (): number => h.sim.stats()['/disk/print'] ?? 0;
  const get = async (p: string): Promise<number> => (await fetch(`${base}${p}`)).status;

  it('50 concurrent and 50 sequential scrapes of /metrics and /healthz make at most 2 /disk/print calls', async () => {
    const before = diskPrints();
    const statuses = await Promise.all(Array.from({ length: 50 }, (_, i) => get(i % 2 ? '/metrics' : '/healthz')));
    for (let i = 0; i < 50; i++) statuses.push(await get(i % 2 ? '/metrics' : '/healthz'));
    expect(statuses.every((s) => s === 200)).toBe(true);
    // One pool read (rds_csi_pool_bytes) and one ping (/healthz), shared by all 100 requests.
    expect(diskPrints() - before).toBeLessThanOrEqual(2);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^rds_csi_pool_bytes\{[^}]*kind="size"[^}]*\} [1-9]/m);
  });
});

describe('sharedResult', () => {
  it.each([
    ['a call in flight is shared', [0, 0, 0], 1],
    ['settled answers are reused within the TTL', [0, 50, 99], 1],
    ['a settled answer older than the TTL is asked again', [0, 100, 150, 250], 3],
  ])('%s', async (_what, times, calls) => {
    let clock = 0;
    let n = 0;
    const get = sharedResult(
      () => Promise.resolve(++n),
      100,
      () => clock,
    );
    for (const t of times) {
      clock = t;
      await Promise.all([get(), get()]);
    }
    expect(n).toBe(calls);
  });

  it('shares a failure like a value, then asks again after the TTL', async () => {
    let clock = 0;
    let n = 0;
    const get = sharedResult(
      () => Promise.reject(new Error(`down ${++n}`)),
      100,
      () => clock,
    );
    await expect(get()).rejects.toThrow('down 1');
    clock = 50;
    await expect(get()).rejects.toThrow('down 1');
    clock = 200;
    await expect(get()).rejects.toThrow('down 2');
  });
});
