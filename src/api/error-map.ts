/**
 * The controller's port errors as failures, applied once at the gRPC edge (buildHandlers' classifier, wired in
 * runtime/controller-app) and by the CreateVolume event reporter. RDS errors already are Failures (rds/errors.ts);
 * a Redis that does not answer is `unavailable`. Anything unknown stays as it is and becomes INTERNAL at the edge.
 */
import { Failure } from '../domain/failure';
import { RecordNotReplicatedError } from '../state/redis-record-store';

const REDIS_DOWN = /ECONNREFUSED|ECONNRESET|Connection is closed|MaxRetriesPerRequest|Stream isn't writeable|ETIMEDOUT|Command timed out/i;

export function portFailure(err: unknown): unknown {
  if (err instanceof Failure) return err;
  if (err instanceof RecordNotReplicatedError) {
    return new Failure('unavailable', `${err.message}; the write may not survive a Redis failover, retry`, err);
  }
  if (err instanceof Error && REDIS_DOWN.test(`${err.name} ${err.message}`)) {
    return new Failure(
      'unavailable',
      `Redis is unreachable (${err.message}); the controller keeps its state and queue there. Check the Redis service and retry`,
      err,
    );
  }
  return err;
}
