import { status } from '@grpc/grpc-js';
import { UnrecoverableError } from 'bullmq';
import { BreakerOpenError, CircuitBreaker, type BreakerState } from '../../src/rds/circuit-breaker';
import { RdsError, RosTransportError } from '../../src/rds/errors';
import { toJobFailure } from '../../src/workers/failure';
import { statusOf } from '../../src/grpc/errors';
import { decodeJobFailure } from '../../src/queue/failure-codec';

const down = (): Promise<never> => Promise.reject(new RosTransportError('closed', 'connection refused'));
const ok = (): Promise<string> => Promise.resolve('ok');

function setup(threshold = 3, openMs = 10_000) {
  let now = Date.parse('2026-11-01T00:00:00Z');
  const states: BreakerState[] = [];
  const breaker = new CircuitBreaker({
    target: 'rds:8728',
    failureThreshold: threshold,
    openMs,
    now: () => now,
    onStateChange: (s) => states.push(s),
  });
  return { breaker, states, advance: (ms: number) => (now += ms) };
}

async function fail(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await expect(breaker.run(down)).rejects.toBeInstanceOf(RdsError);
}

describe('CircuitBreaker', () => {
  it('stays closed below the threshold and resets on success', async () => {
    const { breaker } = setup(3);
    await fail(breaker, 2);
    await expect(breaker.run(ok)).resolves.toBe('ok');
    await fail(breaker, 2);
    expect(breaker.state).toBe('closed');
  });

  it('opens after N consecutive transient failures and refuses without calling', async () => {
    const { breaker, states } = setup(3);
    await fail(breaker, 3);
    expect(breaker.state).toBe('open');
    const fn = jest.fn(ok);
    const err = await breaker.run(fn).catch((e: unknown) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(err).toBeInstanceOf(RdsError);
    expect((err as RdsError).transient).toBe(true);
    expect(statusOf(err)).toBe(status.UNAVAILABLE);
    expect((err as RdsError).message).toMatch(/RDS unreachable at rds:8728 since 2026-11-01T00:00:00.000Z.*refused for 10s/);
    expect(states).toEqual(['open']);
    // A refusal is a BreakerOpenError, so a queued job fails at once with UNAVAILABLE instead of being retried.
    expect(err).toBeInstanceOf(BreakerOpenError);
    const failure = toJobFailure(err);
    expect(failure.error).toBeInstanceOf(UnrecoverableError);
    expect(decodeJobFailure(failure.error.message)).toEqual({ kind: 'unavailable', message: expect.stringMatching(/^RDS unreachable/) as unknown });
  });

  it('permanent and not-found errors do not count as failures', async () => {
    const { breaker } = setup(2);
    for (let i = 0; i < 5; i++) {
      await expect(breaker.run(() => Promise.reject(new Error('not enough space')))).rejects.toMatchObject({ transient: false });
      await expect(breaker.run(() => Promise.reject(new Error('no such item')))).rejects.toMatchObject({ kind: 'not-found' });
    }
    expect(breaker.state).toBe('closed');
  });

  it('half-open lets exactly one probe through; success closes', async () => {
    const { breaker, states, advance } = setup(1, 5000);
    await fail(breaker, 1);
    advance(4999);
    await expect(breaker.run(ok)).rejects.toThrow(/refused for 1s/);
    advance(1);
    expect(breaker.state).toBe('half-open');
    let release: (v: string) => void = () => undefined;
    const probe = breaker.run(() => new Promise<string>((r) => (release = r)));
    await expect(breaker.run(ok)).rejects.toThrow(/probe/);
    release('probed');
    await expect(probe).resolves.toBe('probed');
    expect(breaker.state).toBe('closed');
    await expect(breaker.run(ok)).resolves.toBe('ok');
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });

  it('a failed probe opens it again for a full period', async () => {
    const { breaker, advance } = setup(2, 1000);
    await fail(breaker, 2);
    advance(1000);
    await fail(breaker, 1);
    expect(breaker.state).toBe('open');
    advance(999);
    await expect(breaker.run(ok)).rejects.toThrow(/refused/);
    advance(1);
    await expect(breaker.run(ok)).resolves.toBe('ok');
  });

  it('a failed probe is answered as "RDS unreachable" (UNAVAILABLE, a breaker refusal), not as one more transient error', async () => {
    const { breaker, advance } = setup(1, 3000);
    await fail(breaker, 1);
    advance(3000);
    const err = await breaker.run(down).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BreakerOpenError);
    expect(err).toMatchObject({ kind: 'unavailable' });
    expect((err as Error).message).toMatch(
      /^RDS unreachable at rds:8728 since 2026-11-01T00:00:00.000Z: the probe call after 3s failed too \(.*connection refused.*\); calls are refused for 3s/,
    );
    // A queued job fails at once with UNAVAILABLE, as on an open breaker, instead of being rescheduled.
    const failure = toJobFailure(err);
    expect(failure.error).toBeInstanceOf(UnrecoverableError);
    expect(decodeJobFailure(failure.error.message)).toEqual({ kind: 'unavailable', message: expect.stringMatching(/^RDS unreachable/) as unknown });
    // A call that fails while the breaker is closed stays an ordinary transient error (retried with backoff).
    advance(3000);
    await breaker.run(ok);
    const plain = await breaker.run(down).catch((e: unknown) => e);
    expect(plain).not.toBeInstanceOf(BreakerOpenError);
    expect(toJobFailure(plain).error).not.toBeInstanceOf(UnrecoverableError);
  });

  it('classifies what the call throws', async () => {
    const { breaker } = setup();
    await expect(
      breaker.run(() => Promise.reject(new Error('input does not match any value of file-size')), '/disk/set id=*1'),
    ).rejects.toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('/disk/set id=*1') as unknown,
    });
  });
});
