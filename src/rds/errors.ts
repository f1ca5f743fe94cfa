/**
 * The one place where failures talking to RDS are classified (DESIGN.md §5): transient (connection, timeout, busy:
 * retry later), permanent (RDS refused the request: retrying the same thing will not help) or not-found (the item is
 * absent; callers decide whether that is success). Every RdsPort method throws only RdsError.
 */
import { constants as osConstants } from 'os';
import { status } from '@grpc/grpc-js';

export type RdsErrorKind = 'transient' | 'permanent' | 'not-found';

export class RdsError extends Error {
  override readonly name = 'RdsError';
  constructor(
    readonly kind: RdsErrorKind,
    readonly grpcCode: status,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
  get transient(): boolean {
    return this.kind === 'transient';
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

interface Rule {
  test: RegExp;
  kind: RdsErrorKind;
  code: status;
  advice: string;
}

/** RouterOS `!trap` texts, first match wins (reference/ROUTEROS.md §1.11; /disk texts are partly guesses, §2.8). */
const TRAP_RULES: Rule[] = [
  { test: /no such item/i, kind: 'not-found', code: status.NOT_FOUND, advice: 'the item does not exist (any more)' },
  {
    test: /not enough space|no space|disk full/i,
    kind: 'permanent',
    code: status.RESOURCE_EXHAUSTED,
    advice: 'the storage pool is full; free space on RDS or ask for a smaller volume',
  },
  {
    test: /busy|try again|interrupted|timed? ?out/i,
    kind: 'transient',
    code: status.UNAVAILABLE,
    advice: 'RDS is busy; the request will be retried',
  },
  {
    test: /already have such|already exists|is in use/i,
    kind: 'permanent',
    code: status.FAILED_PRECONDITION,
    advice: 'an item with that name or file already exists or is in use on RDS; remove it or pick another name',
  },
  {
    test: /invalid user name or password|cannot log in|not enough privileges|permission denied/i,
    kind: 'permanent',
    code: status.FAILED_PRECONDITION,
    advice: 'check the RDS user, password and its group policies (api, read, write) in the driver configuration',
  },
  {
    test: /no such command/i,
    kind: 'permanent',
    code: status.UNIMPLEMENTED,
    advice: 'this RouterOS does not know the command; check that rose-storage is installed and the RouterOS version',
  },
  {
    test: /invalid value|bad argument|expected end of command|input does not match|unknown parameter|^failure:/i,
    kind: 'permanent',
    code: status.INVALID_ARGUMENT,
    advice: 'RDS rejected an argument; check the volume parameters (slot, path, size, NQN, port)',
  },
];

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(osConstants.errno).map(([name, value]) => [value, name] as [number, string]),
);

const TRANSIENT_CODES = /^(E(CONN(REFUSED|RESET|ABORTED)|PIPE|TIMEDOUT|HOSTUNREACH|HOSTDOWN|NETUNREACH|NETDOWN|NETRESET|AI_AGAIN|NOTFOUND|NOTCONN|ADDRNOTAVAIL)|SOCKTMOUT|UNKNOWNREPLY|UNREGISTEREDTAG|ALRDYCONNECTING|ALRDYCLOSNG|ERR_SOCKET_CLOSED|ERR_STREAM_DESTROYED)$/;

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|^ERR_TLS|^ERR_SSL|^EPROTO$/;

function transient(code: status, message: string, cause: unknown): RdsError {
  return new RdsError('transient', code, message, cause);
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
    const code = err.reason === 'timeout' ? status.DEADLINE_EXCEEDED : status.UNAVAILABLE;
    return transient(code, `RDS connection problem${at}: ${err.message}; the request can be retried`, err);
  }
  if (typeof err === 'string') {
    // node-routeros rejects connect() with the bare string 'ALRDYCONNECTING'.
    return transient(status.UNAVAILABLE, `RDS client not ready${at}: ${err}; retry`, err);
  }
  if (!isErrorLike(err)) {
    return new RdsError('permanent', status.UNKNOWN, `unexpected failure talking to RDS${at}: ${String(err)}`, err);
  }
  const name = errnoName(err);
  if (name === 'CANTLOGIN') {
    return new RdsError('permanent', status.FAILED_PRECONDITION, `RDS refused the login${at}: check the RDS user and password in the driver configuration`, err);
  }
  if (name !== undefined && TLS_CODES.test(name)) {
    return new RdsError('permanent', status.FAILED_PRECONDITION, `TLS connection to RDS refused${at}: ${name}: ${err.message}; check the pinned CA and servername in the driver configuration`, err);
  }
  if (name !== undefined && TRANSIENT_CODES.test(name)) {
    const detail = err.message ? `${name}: ${err.message}` : name;
    return transient(status.UNAVAILABLE, `RDS unreachable${at}: ${detail}; check that RDS is up and the API port is reachable`, err);
  }
  if (err.name === 'RosException') {
    const detail = `${name ?? ''} ${err.message}`.trim() || 'no details from node-routeros';
    return transient(status.UNAVAILABLE, `RDS connection error${at}: ${detail}; check that RDS is up and reachable`, err);
  }
  if (/fatal/i.test(err.message) || /socket (hang up|closed)|ECONNRESET|ECONNREFUSED/i.test(err.message)) {
    return transient(status.UNAVAILABLE, `RDS closed the connection${at}: ${err.message}; the request can be retried`, err);
  }
  // Otherwise: a RouterOS !trap, which node-routeros reports as a plain Error carrying only the trap's message.
  const said = err.message || '(empty trap message)';
  for (const rule of TRAP_RULES) {
    if (rule.test.test(said)) return new RdsError(rule.kind, rule.code, `RDS said "${said}"${at}: ${rule.advice}`, err);
  }
  return new RdsError('permanent', status.UNKNOWN, `RDS said "${said}"${at}: not a known RouterOS error; check the RDS log and the request`, err);
}
