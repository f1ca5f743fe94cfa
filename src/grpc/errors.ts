import { status } from '@grpc/grpc-js';
import { Failure, type FailureKind } from '../domain/failure';

/**
 * The one mapping of the driver's failure kinds (src/domain/failure.ts) to gRPC status codes. Used by the gRPC edge
 * (buildHandlers, for the controller and the node) and by the JobRunner to read failures written by older workers.
 * Anything that is not a Failure when it reaches the edge is answered as INTERNAL with a generic message (the stack
 * is logged, never sent).
 */
export const STATUS_OF_KIND: Readonly<Record<FailureKind, status>> = {
  invalid: status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  conflict: status.ALREADY_EXISTS,
  exhausted: status.RESOURCE_EXHAUSTED,
  precondition: status.FAILED_PRECONDITION,
  aborted: status.ABORTED,
  'out-of-range': status.OUT_OF_RANGE,
  unavailable: status.UNAVAILABLE,
  timeout: status.DEADLINE_EXCEEDED,
  unsupported: status.UNIMPLEMENTED,
  internal: status.INTERNAL,
  unknown: status.UNKNOWN,
};

const KIND_OF_STATUS = new Map<status, FailureKind>(
  Object.entries(STATUS_OF_KIND).map(([kind, code]) => [code, kind as FailureKind] as [status, FailureKind]),
);

/** The gRPC status a failure is answered with; INTERNAL for anything that is not a Failure. */
export function statusOf(err: unknown): status {
  return err instanceof Failure ? STATUS_OF_KIND[err.kind] : status.INTERNAL;
}

/** The kind a gRPC status stands for (e.g. a code recorded by an older worker); undefined for OK and unmapped codes. */
export function kindOfStatus(code: status): FailureKind | undefined {
  return KIND_OF_STATUS.get(code);
}

/** Name of a gRPC status code, e.g. 10 → "ABORTED". */
export function codeName(code: number): string {
  return (status as unknown as Record<number, string>)[code] ?? String(code);
}

export function codeFromName(name: string): status | undefined {
  const v = (status as unknown as Record<string, number>)[name];
  return typeof v === 'number' ? v : undefined;
}
