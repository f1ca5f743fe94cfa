/**
 * Errors from the ports (RDS, Redis) turned into the CSI code a sidecar can act on. Anything unknown stays as it
 * is and becomes INTERNAL at the gRPC edge.
 */
import { status } from '@grpc/grpc-js';
import { GrpcError } from '../grpc/errors';
import { RdsError } from '../rds/errors';
import { RecordNotReplicatedError } from '../state/redis-record-store';

const REDIS_DOWN = /ECONNREFUSED|ECONNRESET|Connection is closed|MaxRetriesPerRequest|Stream isn't writeable|ETIMEDOUT|Command timed out/i;

export function mapPortError(err: unknown): unknown {
  if (err instanceof GrpcError) return err;
  if (err instanceof RdsError) {
    const code = err.kind === 'not-found' ? status.NOT_FOUND : err.grpcCode;
    return new GrpcError(code, err.message);
  }
  if (err instanceof RecordNotReplicatedError) {
    return new GrpcError(status.UNAVAILABLE, `${err.message}; the write may not survive a Redis failover, retry`);
  }
  if (err instanceof Error && REDIS_DOWN.test(`${err.name} ${err.message}`)) {
    return new GrpcError(status.UNAVAILABLE, `Redis is unreachable (${err.message}); the controller keeps its state and queue there. Check the Redis service and retry`);
  }
  return err;
}

/** Runs `fn`, mapping port errors. */
export async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapPortError(err);
  }
}
