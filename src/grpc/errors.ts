import { status } from '@grpc/grpc-js';

/**
 * The error every CSI handler throws on purpose: a gRPC code and a message that says what is wrong and what to
 * do. Anything else that escapes a handler is answered as INTERNAL with a generic message (the stack is logged,
 * never sent).
 */
export class GrpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcError';
  }
}

export const invalid = (msg: string): GrpcError => new GrpcError(status.INVALID_ARGUMENT, msg);
export const notFound = (msg: string): GrpcError => new GrpcError(status.NOT_FOUND, msg);
export const aborted = (msg: string): GrpcError => new GrpcError(status.ABORTED, msg);
export const alreadyExists = (msg: string): GrpcError => new GrpcError(status.ALREADY_EXISTS, msg);
export const unavailable = (msg: string): GrpcError => new GrpcError(status.UNAVAILABLE, msg);
export const failedPrecondition = (msg: string): GrpcError => new GrpcError(status.FAILED_PRECONDITION, msg);

/** Name of a gRPC status code, e.g. 10 → "ABORTED". */
export function codeName(code: number): string {
  return (status as unknown as Record<number, string>)[code] ?? String(code);
}

export function codeFromName(name: string): status | undefined {
  const v = (status as unknown as Record<string, number>)[name];
  return typeof v === 'number' ? v : undefined;
}
