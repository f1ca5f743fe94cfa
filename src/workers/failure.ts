import { UnrecoverableError } from 'bullmq';
import { status } from '@grpc/grpc-js';
import { codeName } from '../grpc/errors';
import { encodeFailure } from '../queue/jobs';
import { BreakerOpenError } from '../rds/circuit-breaker';
import { RdsError } from '../rds/errors';
import { PermanentError } from './context';

/**
 * Maps what a processor threw to BullMQ's retry semantics, in one place: permanent faults fail the job at once
 * (UnrecoverableError) with their CSI code in the reason; everything else is thrown again for a retry with
 * exponential backoff and jitter.
 */
export function toJobFailure(err: unknown): { error: Error; kind: 'permanent' | 'transient' } {
  if (err instanceof PermanentError) {
    return { error: new UnrecoverableError(encodeFailure(codeName(err.code), err.message)), kind: 'permanent' };
  }
  if (err instanceof RdsError && err.kind !== 'transient') {
    const code = err.kind === 'not-found' ? status.NOT_FOUND : err.grpcCode;
    return { error: new UnrecoverableError(encodeFailure(codeName(code), err.message)), kind: 'permanent' };
  }
  if (err instanceof BreakerOpenError) {
    // The circuit breaker is open: RDS has been unreachable for several calls. Retrying inside the queue would
    // only pile up jobs; fail now with UNAVAILABLE and let the CO retry the RPC (which retries the job).
    return { error: new UnrecoverableError(encodeFailure('UNAVAILABLE', err.message)), kind: 'transient' };
  }
  const error = err instanceof Error ? err : new Error(String(err));
  return { error, kind: 'transient' };
}
