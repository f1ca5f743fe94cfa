import { UnrecoverableError } from 'bullmq';
import { Failure } from '../domain/failure';
import { encodeJobFailure } from '../queue/failure-codec';
import { BreakerOpenError } from '../rds/circuit-breaker';

/**
 * Maps what a processor threw to BullMQ's retry semantics, in one place: a Failure that retrying cannot fix fails
 * the job at once (UnrecoverableError) with its kind and message as data (queue/failure-codec.ts); everything else
 * (a transient Failure, a Redis or unexpected error) is thrown again for a retry with exponential backoff and jitter.
 */
export function toJobFailure(err: unknown): { error: Error; kind: 'permanent' | 'transient' } {
  if (err instanceof BreakerOpenError) {
    // The circuit breaker is open: RDS has been unreachable for several calls. Retrying inside the queue would
    // only pile up jobs; fail now with UNAVAILABLE and let the CO retry the RPC (which retries the job).
    return { error: new UnrecoverableError(encodeJobFailure({ kind: 'unavailable', message: err.message })), kind: 'transient' };
  }
  if (err instanceof Failure && !err.transient) {
    return { error: new UnrecoverableError(encodeJobFailure({ kind: err.kind, message: err.message })), kind: 'permanent' };
  }
  const error = err instanceof Error ? err : new Error(String(err));
  return { error, kind: 'transient' };
}
