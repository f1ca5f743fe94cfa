/**
 * Circuit breaker in front of RDS (docs/ARCHITECTURE.md#rds-port): after `failureThreshold` consecutive *transient*
 * failures it opens and refuses calls immediately for `openMs`, so an RDS outage answers UNAVAILABLE at once instead
 * of every caller waiting for its own timeout. After `openMs` it is half-open: exactly one probe call goes through;
 * success closes it, a transient failure opens it again. Permanent and not-found errors prove RDS answered, so they
 * count as success.
 *
 * A failed probe is the outage going on, not a blip: it is thrown as a BreakerOpenError (UNAVAILABLE, "RDS
 * unreachable"), exactly like a refusal, so the caller fails fast instead of treating it as one more transient
 * error to retry (issue 11 item 11: a queued job whose backoff outgrew `openMs` became every probe, and CreateVolume
 * answered ABORTED for a whole outage).
 */
import { classifyRdsError, RdsError } from './errors';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** The breaker's refusal: RDS has been failing for several calls in a row (an outage, not a blip). */
export class BreakerOpenError extends RdsError {}

export interface CircuitBreakerOptions {
  /** Shown in the refusal message, e.g. "10.0.0.5:8729". */
  target: string;
  failureThreshold?: number;
  openMs?: number;
  /** Injectable clock (ms since epoch). */
  now?: () => number;
  onStateChange?: (state: BreakerState) => void;
}

export class CircuitBreaker {
  private readonly threshold: number;
  private readonly openMs: number;
  private readonly now: () => number;
  private current: BreakerState = 'closed';
  private consecutiveFailures = 0;
  private openedAt = 0;
  private downSince = 0;
  private probeInFlight = false;

  constructor(private readonly opts: CircuitBreakerOptions) {
    this.threshold = Math.max(1, opts.failureThreshold ?? 5);
    this.openMs = Math.max(0, opts.openMs ?? 10_000);
    this.now = opts.now ?? Date.now;
  }

  /** The state as of now (an expired open period reads as half-open). */
  get state(): BreakerState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.openMs) return 'half-open';
    return this.current;
  }

  /** Runs `fn` unless the breaker refuses it; every rejection comes out as an RdsError. */
  async run<T>(fn: () => Promise<T>, context?: string): Promise<T> {
    const isProbe = this.admit();
    try {
      const value = await fn();
      this.onSuccess();
      return value;
    } catch (err) {
      const classified = classifyRdsError(err, context);
      if (!classified.transient) {
        this.onSuccess();
        throw classified;
      }
      this.onFailure();
      throw isProbe ? this.probeFailed(classified) : classified;
    } finally {
      if (isProbe) this.probeInFlight = false;
    }
  }

  /** Throws when refused; returns true when this call is the half-open probe. */
  private admit(): boolean {
    const state = this.state;
    if (state === 'closed') return false;
    if (state === 'half-open' && !this.probeInFlight) {
      this.setState('half-open');
      this.probeInFlight = true;
      return true;
    }
    throw this.refusal();
  }

  private refusal(): RdsError {
    const remainingMs = this.current === 'open' ? Math.max(0, this.openedAt + this.openMs - this.now()) : 0;
    const retryIn = this.probeInFlight && remainingMs === 0 ? 'until the probe call in flight answers' : `for ${Math.ceil(remainingMs / 1000)}s`;
    return new BreakerOpenError(
      'unavailable',
      `RDS unreachable at ${this.opts.target} since ${new Date(this.downSince).toISOString()} ` +
        `(${this.consecutiveFailures} consecutive failures); calls are refused ${retryIn}. Check that RDS is up and reachable`,
    );
  }

  /** The half-open probe failed: the breaker is open again, and this call is answered as a refusal would be. */
  private probeFailed(cause: RdsError): BreakerOpenError {
    return new BreakerOpenError(
      'unavailable',
      `RDS unreachable at ${this.opts.target} since ${new Date(this.downSince).toISOString()}: the probe call after ` +
        `${Math.ceil(this.openMs / 1000)}s failed too (${cause.message}); calls are refused for ${Math.ceil(this.openMs / 1000)}s. Check that RDS is up and reachable`,
      cause,
    );
  }

  private onSuccess(): void {
    this.consecutiveFailures = 0;
    if (this.current !== 'closed') this.setState('closed');
  }

  private onFailure(): void {
    if (this.consecutiveFailures === 0) this.downSince = this.now();
    this.consecutiveFailures++;
    if (this.current === 'half-open' || this.consecutiveFailures >= this.threshold) {
      this.openedAt = this.now();
      this.setState('open');
    }
  }

  private setState(next: BreakerState): void {
    if (this.current === next) return;
    this.current = next;
    this.opts.onStateChange?.(next);
  }
}
