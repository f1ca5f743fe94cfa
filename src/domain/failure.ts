/**
 * The driver's one failure vocabulary. Every layer below the gRPC edge (RDS port, workers, queue, node) raises a
 * Failure of one of these kinds with a message written for the caller: what is wrong and what to do. The kinds are
 * turned into gRPC status codes in exactly one place, src/grpc/failure-status.ts, used by the gRPC edge
 * (buildHandlers) for the controller and the node alike and by the JobRunner for failures of old workers. A Failure
 * crosses the job queue as data (src/queue/failure-codec.ts), never as a string prefix.
 */
export const FAILURE_KINDS = [
  'invalid',
  'not-found',
  'conflict',
  'exhausted',
  'precondition',
  'aborted',
  'out-of-range',
  'unavailable',
  'timeout',
  'unsupported',
  'internal',
  'unknown',
] as const;

export type FailureKind = (typeof FAILURE_KINDS)[number];

export function isFailureKind(v: unknown): v is FailureKind {
  return typeof v === 'string' && (FAILURE_KINDS as readonly string[]).includes(v);
}

/** Kinds of a dependency that did not answer (RDS, Redis): the same request may succeed later. Retried by the queue. */
const TRANSIENT = new Set<FailureKind>(['unavailable', 'timeout']);
/** Kinds after which the caller retries the same request ("later"), rather than "this request cannot succeed". */
const RETRY_LATER = new Set<FailureKind>(['aborted', 'unavailable', 'timeout']);

export class Failure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'Failure';
  }

  /** A dependency did not answer; retrying the same operation may succeed (the queue retries it with backoff). */
  get transient(): boolean {
    return TRANSIENT.has(this.kind);
  }
}

/** The request may succeed if it is sent again later (still running, or a dependency is down). */
export function retryLater(err: unknown): boolean {
  return err instanceof Failure && RETRY_LATER.has(err.kind);
}

export const invalid = (msg: string): Failure => new Failure('invalid', msg);
export const notFound = (msg: string): Failure => new Failure('not-found', msg);
export const aborted = (msg: string): Failure => new Failure('aborted', msg);
export const alreadyExists = (msg: string): Failure => new Failure('conflict', msg);
export const outOfRange = (msg: string): Failure => new Failure('out-of-range', msg);
export const exhausted = (msg: string): Failure => new Failure('exhausted', msg);
export const unavailable = (msg: string): Failure => new Failure('unavailable', msg);
export const failedPrecondition = (msg: string): Failure => new Failure('precondition', msg);
