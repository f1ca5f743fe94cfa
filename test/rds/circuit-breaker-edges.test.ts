import { BreakerOpenError, CircuitBreaker, type BreakerState } from '../../src/rds/circuit-breaker';
import { RosTransportError } from '../../src/rds/errors';

/**
 * The breaker's edges that circuit-breaker.test.ts leaves open (found by the mutation tier, test/mutation/REPORT.md):
 * its defaults and clamps, the exact moment an open period ends, what a refusal says, and state-change events.
 */
const down = (): Promise<never> => Promise.reject(new RosTransportError('closed', 'connection refused'));
const ok = (): Promise<string> => Promise.resolve('ok');
const T0 = Date.parse('2026-11-01T00:00:00Z');

function setup(opts: { failureThreshold?: number; openMs?: number } = {}) {
  let now = T0;
  const states: BreakerState[] = [];
  const breaker = new CircuitBreaker({ target: 'rds:8728', ...opts, now: () => now, onStateChange: (s) => states.push(s) });
  return { breaker, states, advance: (ms: number) => (now += ms) };
}
const failN = async (b: CircuitBreaker, n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await b.run(down).catch(() => undefined);
};
const refusal = (b: CircuitBreaker): Promise<Error> =>
  b.run(ok).then(
    () => {
      throw new Error('not refused');
    },
    (e: Error) => e,
  );

describe('CircuitBreaker edges', () => {
  it.each([
    { opts: {}, opensAfter: 5, name: 'defaults to 5 failures' },
    { opts: { failureThreshold: 0 }, opensAfter: 1, name: 'a threshold below 1 counts as 1' },
    { opts: { failureThreshold: -3 }, opensAfter: 1, name: 'a negative threshold counts as 1' },
  ])('$name', async ({ opts, opensAfter }) => {
    const { breaker } = setup(opts);
    await failN(breaker, opensAfter - 1);
    expect(breaker.state).toBe('closed');
    await failN(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('defaults to a 10 s open period, half-open exactly when it has passed', async () => {
    const { breaker, advance } = setup({ failureThreshold: 1 });
    await failN(breaker, 1);
    advance(9_999);
    expect(breaker.state).toBe('open');
    advance(1);
    expect(breaker.state).toBe('half-open');
  });

  it('a negative open period counts as 0: half-open at once', async () => {
    const { breaker } = setup({ failureThreshold: 1, openMs: -5000 });
    await failN(breaker, 1);
    expect(breaker.state).toBe('half-open');
  });

  it('a refusal says since when, how many failures, and the whole seconds left (rounded up)', async () => {
    const { breaker, advance } = setup({ failureThreshold: 2, openMs: 10_000 });
    await failN(breaker, 1);
    advance(500); // downSince stays at the first failure of the run
    await failN(breaker, 1);
    advance(1_200);
    const err = await refusal(breaker);
    expect(err).toBeInstanceOf(BreakerOpenError);
    expect(err.message).toBe(
      'RDS unreachable at rds:8728 since 2026-11-01T00:00:00.000Z (2 consecutive failures); calls are refused for 9s. Check that RDS is up and reachable',
    );
  });

  it('while the half-open probe is in flight, a second call is refused "until the probe call in flight answers"', async () => {
    const { breaker, advance } = setup({ failureThreshold: 1, openMs: 1000 });
    await failN(breaker, 1);
    advance(1000);
    let answer: (v: string) => void = () => undefined;
    const probe = breaker.run(() => new Promise<string>((r) => (answer = r)));
    const err = await refusal(breaker);
    expect(err.message).toContain('calls are refused until the probe call in flight answers.');
    answer('ok');
    await expect(probe).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
    await expect(breaker.run(ok)).resolves.toBe('ok'); // the probe slot was freed
  });

  it('a failed probe frees the probe slot for the next period', async () => {
    const { breaker, advance } = setup({ failureThreshold: 1, openMs: 1000 });
    await failN(breaker, 1);
    advance(1000);
    await failN(breaker, 1); // the probe fails
    expect(breaker.state).toBe('open');
    advance(1000);
    await expect(breaker.run(ok)).resolves.toBe('ok'); // a new probe is admitted
  });

  it('reports each state change once, in order, and a new failure run restarts "since"', async () => {
    const { breaker, states, advance } = setup({ failureThreshold: 1, openMs: 1000 });
    await breaker.run(ok);
    expect(states).toEqual([]);
    await failN(breaker, 1);
    advance(1000);
    await breaker.run(ok);
    await breaker.run(ok);
    expect(states).toEqual(['open', 'half-open', 'closed']);
    advance(60_000);
    await failN(breaker, 1);
    const err = await refusal(breaker);
    expect(err.message).toContain('since 2026-11-01T00:01:01.000Z (1 consecutive failures)');
  });
  // Calls admitted while the breaker was closed can answer after it opened, or while a probe is in flight.
  const deferred = (): { call: () => Promise<string>; fail: () => void } => {
    let reject: (e: Error) => void = () => undefined;
    const p = new Promise<string>((_r, j) => (reject = j));
    return { call: () => p, fail: () => reject(new RosTransportError('closed', 'connection refused')) };
  };

  it('late failures of calls admitted before it opened do not report "open" again', async () => {
    const { breaker, states } = setup({ failureThreshold: 1, openMs: 1000 });
    const [a, b] = [deferred(), deferred()];
    const runs = [breaker.run(a.call).catch(() => undefined), breaker.run(b.call).catch(() => undefined)];
    a.fail();
    b.fail();
    await Promise.all(runs);
    expect(breaker.state).toBe('open');
    expect(states).toEqual(['open']);
  });

  it('a late failure while the probe is in flight re-opens it for a full period and keeps the probe slot taken', async () => {
    const { breaker, advance } = setup({ failureThreshold: 1, openMs: 1000 });
    const early = deferred();
    const earlyRun = breaker.run(early.call).catch((e: Error) => e);
    await failN(breaker, 1);
    advance(1000);
    let answer: (v: string) => void = () => undefined;
    const probe = breaker.run(() => new Promise<string>((r) => (answer = r)));
    early.fail(); // the call admitted while closed fails now, during the probe
    await earlyRun;
    expect(breaker.state).toBe('open');
    expect((await refusal(breaker)).message).toContain('calls are refused for 1s.');
    advance(1000);
    // Still one probe at a time: the early call's end must not free the slot the probe holds.
    expect((await refusal(breaker)).message).toContain('calls are refused until the probe call in flight answers.');
    answer('ok');
    await expect(probe).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });
});
