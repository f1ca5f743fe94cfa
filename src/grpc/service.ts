import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/registry';
import { Failure } from '../domain/failure';
import { codeName, statusOf } from './errors';
import { stripSecrets, truncateForLog } from './sanitize';
import { StartPacer } from './start-pacer';

/**
 * Turns a typed implementation into grpc-js handlers, wrapping every method of the service definition in the one
 * logging interceptor: each RPC is logged once with its outcome, code and duration (secrets stripped, long fields
 * cut: see sanitize.ts) and timed
 * in rds_csi_rpc_duration_seconds. Methods without an implementation answer UNIMPLEMENTED through the same path.
 * This is where a Failure (src/domain/failure.ts) becomes its gRPC status, once, for every service (errors.ts).
 */

export interface CallContext {
  method: string;
  /** Milliseconds left until the caller's deadline; Infinity when the call has none. */
  remainingMs(): number;
  log: Logger;
}

export type UnaryImpl<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;

/** Method names of a generated handler interface mapped to typed unary implementations. */
export type ServiceImpl<H> = {
  [K in keyof H as string extends K ? never : K]?: H[K] extends grpc.handleUnaryCall<infer Req, infer Res> ? UnaryImpl<Req, Res> : never;
};

/**
 * How many handlers of one service start in one event-loop turn during a burst (start-pacer.ts). Small enough that
 * the Redis replies of one turn's starts are read before the next turn's start, large enough that the pacing costs
 * nothing when requests come one by one (measured with bench part (b)/(i): see bench/README.md).
 */
export const DEFAULT_STARTS_PER_TURN = 16;

/** Error texts may quote the request (a 4 MiB volume_id): bounded like the request itself, with room for context. */
const ERROR_CHARS = 1024;
const messageForLog = (err: unknown): string | undefined => {
  if (err === undefined) return undefined;
  return truncateForLog(
    err instanceof Error ? err.message : typeof err === 'string' ? err : (JSON.stringify(stripSecrets(err)) ?? typeof err),
    ERROR_CHARS,
  );
};
const errorForLog = (err: unknown): unknown =>
  err instanceof Error
    ? {
        type: err.name,
        message: truncateForLog(err.message, ERROR_CHARS),
        stack: err.stack === undefined ? undefined : truncateForLog(err.stack, 4 * ERROR_CHARS),
      }
    : messageForLog(err);

function deadlineOf(call: grpc.ServerUnaryCall<unknown, unknown>): number {
  const d = call.getDeadline();
  if (d instanceof Date) return d.getTime();
  return typeof d === 'number' && Number.isFinite(d) ? d : Infinity;
}

/**
 * What a service's port errors mean as failures (the controller: RDS and Redis errors; the node: host errors and
 * errnos). Returns the error unchanged when it means nothing known; that error is answered as INTERNAL.
 */
export type FailureClassifier = (err: unknown) => unknown;

export function buildHandlers<H>(
  service: grpc.ServiceDefinition,
  serviceName: string,
  impl: ServiceImpl<H>,
  log: Logger,
  metrics?: Metrics,
  classify: FailureClassifier = (err) => err,
  pacer: StartPacer | undefined = new StartPacer(DEFAULT_STARTS_PER_TURN),
): grpc.UntypedServiceImplementation {
  const handlers: grpc.UntypedServiceImplementation = {};
  const table = impl as Record<string, UnaryImpl<unknown, unknown> | undefined>;
  for (const [name, def] of Object.entries(service)) {
    if (def.requestStream || def.responseStream) continue; // CSI v1 is unary only
    const method = `${serviceName}.${name}`;
    const fn = table[name];
    handlers[name] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      const started = process.hrtime.bigint();
      const deadline = deadlineOf(call);
      let callLog: Logger | undefined;
      const ctx: CallContext = {
        method,
        remainingMs: () => deadline - Date.now(),
        // Made when first used: most handlers never log, and at the default levels a successful call is not logged.
        get log() {
          return (callLog ??= log.child({ method }));
        },
      };
      const finish = (code: grpc.status, err?: unknown): void => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const codeText = codeName(code);
        metrics?.rpcDuration.observe({ method, code: codeText }, seconds);
        const level = code === grpc.status.OK ? 'info' : err instanceof Failure || code === grpc.status.UNIMPLEMENTED ? 'warn' : 'error';
        // The copy of the request (stripSecrets) only for a line that is written.
        if (!log.isLevelEnabled(level)) return;
        const entry = { code: codeText, durationMs: Math.round(seconds * 1e4) / 10, request: stripSecrets(call.request) };
        if (level === 'info') ctx.log.info(entry, 'rpc ok');
        else if (level === 'warn') ctx.log.warn({ ...entry, error: messageForLog(err) }, 'rpc failed');
        else ctx.log.error({ ...entry, err: errorForLog(err) }, 'rpc failed with an unexpected error');
      };
      if (!fn) {
        finish(grpc.status.UNIMPLEMENTED);
        callback({ code: grpc.status.UNIMPLEMENTED, details: `${method} is not implemented by this plugin` });
        return;
      }
      const answer = (res: unknown): void => {
        finish(grpc.status.OK);
        callback(null, res);
      };
      const fail = (raised: unknown): void => {
        const err = classify(raised);
        if (err instanceof Failure) {
          const code = statusOf(err);
          finish(code, err);
          // The status message travels in an HTTP/2 trailer; one that quotes a 4 MiB request field never arrives.
          callback({ code, details: truncateForLog(err.message, ERROR_CHARS) });
        } else {
          finish(grpc.status.INTERNAL, err);
          callback({ code: grpc.status.INTERNAL, details: `internal error in ${method}; see the plugin log` });
        }
      };
      const start = (): void => {
        let running: Promise<unknown>;
        try {
          running = fn(call.request, ctx);
        } catch (raised) {
          fail(raised);
          return;
        }
        running.then(answer, fail);
      };
      if (pacer) pacer.run(start);
      else start();
    };
  }
  return handlers;
}
