/**
 * The one place where failures talking to RDS are classified (DESIGN.md §5) into the driver's failure kinds
 * (src/domain/failure.ts): transient ones (`unavailable`, `timeout`: connection, timeout, busy; retry later), the
 * kinds of a refusal (RDS refused the request: retrying the same thing will not help) and `not-found` (the item is
 * absent; callers decide whether that is success). Every RdsPort method throws only RdsError.
 */
import { constants as osConstants } from 'os';
import { Failure, type FailureKind } from '../domain/failure';
import { TRAP_CATEGORY_NAMES, trapMeaning } from './trap-table';

/** A Failure raised while talking to RDS (its type names the origin in logs). */
export class RdsError extends Failure {
  override readonly name = 'RdsError';
  constructor(kind: FailureKind, message: string, cause?: unknown) {
    super(kind, message, cause);
  }
}

/**
 * A RouterOS `!trap` with its `=message=` and, where RouterOS sent one, its `=category=` (0..7, MikroTik API manual).
 * Raised by the node-routeros adapter in trap-reply-patch.ts (node-routeros itself keeps only the message).
 */
export class RosTrapError extends Error {
  override readonly name = 'RosTrapError';
  constructor(
    message: string,
    readonly category?: number,
  ) {
    super(message);
  }
}

export type TransportFailure = 'timeout' | 'connect-timeout' | 'closed' | 'socket' | 'client-closed';

/** Raised by routeros-client.ts for failures of the connection itself (never a RouterOS `!trap`). */
export class RosTransportError extends Error {
  override readonly name = 'RosTransportError';
  constructor(
    readonly reason: TransportFailure,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([name, value]) => [value, name] as [number, string]));

const TRANSIENT_CODES =
  /^(E(CONN(REFUSED|RESET|ABORTED)|PIPE|TIMEDOUT|HOSTUNREACH|HOSTDOWN|NETUNREACH|NETDOWN|NETRESET|AI_AGAIN|NOTFOUND|NOTCONN|ADDRNOTAVAIL)|SOCKTMOUT|UNKNOWNREPLY|UNREGISTEREDTAG|ALRDYCONNECTING|ALRDYCLOSNG|ERR_SOCKET_CLOSED|ERR_STREAM_DESTROYED)$/;

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|^ERR_TLS|^ERR_SSL|^EPROTO$/;

function transient(kind: 'unavailable' | 'timeout', message: string, cause: unknown): RdsError {
  return new RdsError(kind, message, cause);
}

function where(context: string | undefined): string {
  return context ? ` (${context})` : '';
}

/** Duck-typed: Node's own errors come from another realm under jest (and vm), so `instanceof Error` is unreliable. */
export function isErrorLike(err: unknown): err is Error {
  return typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string';
}

function errnoName(err: object): string | undefined {
  const e = err as { code?: unknown; errno?: unknown };
  if (typeof e.code === 'string') return e.code;
  if (typeof e.errno === 'string') return e.errno;
  if (typeof e.errno === 'number') return ERRNO_NAMES.get(Math.abs(e.errno)) ?? `errno ${e.errno}`;
  return undefined;
}

/**
 * Maps anything thrown while talking to RDS to an RdsError. `context` (e.g. "/disk/add slot=pvc-1") is put into the
 * message so an operator can see what was attempted, what RDS said and what to do.
 */
export function classifyRdsError(err: unknown, context?: string): RdsError {
  if (err instanceof RdsError) return err;
  const at = where(context);
  if (err instanceof RosTransportError) {
    const kind = err.reason === 'timeout' ? 'timeout' : 'unavailable';
    return transient(kind, `RDS connection problem${at}: ${err.message}; the request can be retried`, err);
  }
  if (err instanceof RosTrapError) return classifyTrap(err.message, err.category, at, err);
  if (typeof err === 'string') {
    // node-routeros rejects connect() with the bare string 'ALRDYCONNECTING'.
    return transient('unavailable', `RDS client not ready${at}: ${err}; retry`, err);
  }
  if (!isErrorLike(err)) {
    return new RdsError('unknown', `unexpected failure talking to RDS${at}: ${String(err)}`, err);
  }
  const name = errnoName(err);
  if (name === 'CANTLOGIN') {
    return new RdsError('precondition', `RDS refused the login${at}: check the RDS user and password in the driver configuration`, err);
  }
  if (name !== undefined && TLS_CODES.test(name)) {
    return new RdsError(
      'precondition',
      `TLS connection to RDS refused${at}: ${name}: ${err.message}; check the pinned CA and servername in the driver configuration`,
      err,
    );
  }
  if (name !== undefined && TRANSIENT_CODES.test(name)) {
    const detail = err.message ? `${name}: ${err.message}` : name;
    return transient('unavailable', `RDS unreachable${at}: ${detail}; check that RDS is up and the API port is reachable`, err);
  }
  if (err.name === 'RosException') {
    const detail = `${name ?? ''} ${err.message}`.trim() || 'no details from node-routeros';
    return transient('unavailable', `RDS connection error${at}: ${detail}; check that RDS is up and reachable`, err);
  }
  if (/fatal/i.test(err.message) || /socket (hang up|closed)|ECONNRESET|ECONNREFUSED/i.test(err.message)) {
    return transient('unavailable', `RDS closed the connection${at}: ${err.message}; the request can be retried`, err);
  }
  // Otherwise a RouterOS !trap that reached us as a plain Error carrying only its message (node-routeros without the
  // adapter of trap-reply-patch.ts, e.g. a login trap it rethrows as is).
  return classifyTrap(err.message, undefined, at, err);
}

/**
 * A trap by its documented category and its known texts (trap-table.ts). A trap nobody has documented is not
 * retried: it is a `precondition` failure (FAILED_PRECONDITION) ("RDS refused this request") that quotes RouterOS, so the job fails
 * at once and the operator reads what RDS said instead of watching a retry loop.
 */
function classifyTrap(message: string, category: number | undefined, at: string, cause: unknown): RdsError {
  const said = message || '(empty trap message)';
  const cat = category === undefined ? '' : ` (trap category ${category}: ${TRAP_CATEGORY_NAMES[category] ?? 'undocumented'})`;
  const meaning = trapMeaning(said, category);
  if (meaning) return new RdsError(meaning.kind, `RDS said "${said}"${cat}${at}: ${meaning.advice}`, cause);
  return new RdsError(
    'precondition',
    `RDS refused the request${at}: RouterOS said "${said}"${cat}; this is not a RouterOS error the driver knows, so it ` +
      'was not retried. Check the RDS log and the request, fix the cause on RDS, then retry',
    cause,
  );
}
