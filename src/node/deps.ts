import { Failure } from '../domain/failure';
import type { CallContext } from '../grpc/service';
import type { HostPort } from '../host/port';
import { ToolStartError } from '../host/run';
import type { Logger } from '../log/logger';
import type { NodeOptions } from '../config/schema';
import type { Connector } from './connector';
import { errnoFailure } from './errno';
import type { Mounter } from './mounter';
import type { NodeTopology } from './node-topology';
import type { VolumeLocks } from './volume-lock';

/** Everything a Node RPC needs; built once by the node app, replaced by fakes in tests where useful. */
export interface NodeDeps {
  opts: NodeOptions;
  nqnPrefix: string;
  host: HostPort;
  connector: Connector;
  mounter: Mounter;
  locks: VolumeLocks;
  log: Logger;
  /** The segments of the RDS backends this node reaches, reported by NodeGetInfo, and NodeStage's check (node-topology.ts). */
  topology: NodeTopology;
}

/** Absolute deadline for host waits inside a call: the caller's deadline minus a margin, capped by `capMs`. */
export function callDeadline(ctx: CallContext, capMs: number): number {
  const left = ctx.remainingMs();
  const ms = Number.isFinite(left) ? Math.min(capMs, Math.max(100, left - 500)) : capMs;
  return Date.now() + ms;
}

/**
 * The node's failure classifier for the gRPC edge (buildHandlers, wired in node/app.ts): host errors (HostError, a
 * Failure) keep the messages written for the caller; an errno from a syscall on a request's path gets its clean kind
 * (errno.ts); a tool that cannot start is a precondition. Anything else stays as it is and is answered INTERNAL.
 */
export function nodeFailure(err: unknown): unknown {
  if (err instanceof Failure) return err;
  const fromErrno = errnoFailure(err);
  if (fromErrno) return fromErrno;
  if (err instanceof ToolStartError) return new Failure('precondition', `${err.message}; is the tool installed on the node? (rds-csi doctor)`);
  return err;
}
