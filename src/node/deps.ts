import { status } from '@grpc/grpc-js';
import { GrpcError } from '../grpc/errors';
import type { BackendTopology } from '../domain/topology';
import type { CallContext } from '../grpc/service';
import type { HostPort } from '../host/port';
import { ToolStartError } from '../host/run';
import type { Logger } from '../log/logger';
import type { NodeOptions } from '../config/schema';
import { type Connector, HostError } from './connector';
import { errnoToGrpc } from './errno';
import type { Mounter } from './mounter';
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
  /** The segment of the RDS this node reaches, reported by NodeGetInfo (src/domain/topology.ts). */
  topology: BackendTopology;
}

/** Absolute deadline for host waits inside a call: the caller's deadline minus a margin, capped by `capMs`. */
export function callDeadline(ctx: CallContext, capMs: number): number {
  const left = ctx.remainingMs();
  const ms = Number.isFinite(left) ? Math.min(capMs, Math.max(100, left - 500)) : capMs;
  return Date.now() + ms;
}

const KIND_CODE: Record<HostError['kind'], status> = {
  unavailable: status.UNAVAILABLE,
  precondition: status.FAILED_PRECONDITION,
  notfound: status.NOT_FOUND,
  internal: status.INTERNAL,
};

/**
 * Host errors carry messages written for the caller; they keep them. An errno from a syscall on a request's path
 * gets its clean code (errno.ts). Anything else stays a generic INTERNAL.
 */
export function toGrpcError(err: unknown): unknown {
  if (err instanceof GrpcError) return err;
  const fromErrno = errnoToGrpc(err);
  if (fromErrno) return fromErrno;
  if (err instanceof HostError) return new GrpcError(KIND_CODE[err.kind], err.message);
  if (err instanceof ToolStartError) return new GrpcError(status.FAILED_PRECONDITION, `${err.message}; is the tool installed on the node? (rds-csi doctor)`);
  return err;
}
