/**
 * One node-routeros connection (one RouterOSAPI object; never reused after it dies, because a node-routeros
 * connection that saw a protocol error may be deaf). It fails every pending call when the connection dies, since
 * node-routeros never settles them itself (docs/ARCHITECTURE.md RouterOS §3.6), and gives each call a deadline.
 */
import { isErrorLike, RosTransportError } from './errors';

/** The part of node-routeros' RouterOSAPI used here. */
export interface RouterOsApiLike {
  connect(): Promise<unknown>;
  write(command: string, words: string[]): Promise<Record<string, string>[]>;
  on(event: 'error' | 'close', listener: (err?: unknown) => void): unknown;
}

/** Private fields of RouterOSAPI 1.6.9 that must be torn down by hand (its own close() hangs on a dead socket). */
interface ApiInternals {
  connector?: {
    destroy(): void;
    on(event: 'error', l: () => void): unknown;
    socket?: { once(event: 'error', l: (err: Error) => void): unknown; setNoDelay?(noDelay: boolean): unknown };
  } | null;
  connectionHoldInterval?: NodeJS.Timeout;
  keptaliveby?: NodeJS.Timeout;
}

export class RosConnection {
  private isAlive = false;
  private dead = false;
  private readonly died: Promise<never>;
  private rejectDied: (err: Error) => void = () => undefined;

  constructor(
    private readonly api: RouterOsApiLike,
    private readonly target: string,
    private readonly onDeath: (wasConnected: boolean) => void,
  ) {
    this.died = new Promise<never>((_, reject) => {
      this.rejectDied = reject;
    });
    this.died.catch(() => undefined); // observed through races only; never an unhandled rejection
    // Without an 'error' listener an idle timeout or socket error after login crashes the process (RouterOS §3.2).
    api.on('error', (err) => {
      this.kill(new RosTransportError('socket', `connection to RDS at ${target} failed: ${describe(err)}`, err));
    });
    // A `!fatal` or a peer close: node-routeros leaves pending calls hanging, so they are failed here.
    api.on('close', () => {
      this.kill(new RosTransportError('closed', `RDS at ${target} closed the connection (!fatal or peer close)`));
    });
  }

  get alive(): boolean {
    return this.isAlive && !this.dead;
  }

  async open(timeoutMs: number): Promise<void> {
    const connecting = this.api.connect();
    // node-routeros replaces a socket error by a RosException with an empty message (TLS verification failures
    // even lose the code), so keep the socket's own error for the report. The socket exists once connect() ran.
    let socketError: Error | undefined;
    const socket = (this.api as unknown as ApiInternals).connector?.socket;
    socket?.once('error', (e) => (socketError = e));
    // node-routeros writes a sentence word by word; with Nagle on, every call after the first waits for the
    // peer's delayed ACK (~40 ms). Commands are small and latency-bound: send at once.
    socket?.setNoDelay?.(true);
    try {
      await withDeadline(
        [connecting, this.died],
        timeoutMs,
        () => new RosTransportError('connect-timeout', `no connection to RDS at ${this.target} within ${timeoutMs} ms`),
      );
    } catch (err) {
      this.kill(new RosTransportError('socket', `connect to RDS at ${this.target} failed: ${describe(err)}`, err));
      throw socketError && isErrorLike(err) && !err.message ? socketError : err;
    }
    if (this.dead) throw new RosTransportError('closed', `RDS at ${this.target} closed the connection during login`);
    this.isAlive = true;
  }

  call(command: string, words: string[], timeoutMs: number): Promise<Record<string, string>[]> {
    if (!this.alive) {
      return Promise.reject(new RosTransportError('closed', `connection to RDS at ${this.target} is closed`));
    }
    let written: Promise<Record<string, string>[]>;
    try {
      written = this.api.write(command, [...words]);
    } catch (err) {
      this.kill(new RosTransportError('socket', `write to RDS at ${this.target} failed: ${describe(err)}`, err));
      return Promise.reject(isErrorLike(err) ? err : new Error(describe(err)));
    }
    return withDeadline(
      [written, this.died],
      timeoutMs,
      () => new RosTransportError('timeout', `RDS at ${this.target} did not answer ${command} within ${timeoutMs} ms`),
      () => this.kill(new RosTransportError('closed', `connection to RDS at ${this.target} dropped: ${command} got no answer in ${timeoutMs} ms`)),
    );
  }

  /** Marks the connection dead, fails every pending call with `err`, and tears the socket down. Idempotent. */
  kill(err: Error): void {
    if (this.dead) return;
    const wasConnected = this.isAlive;
    this.dead = true;
    this.isAlive = false;
    this.rejectDied(err);
    teardown(this.api);
    this.onDeath(wasConnected);
  }
}

function teardown(api: RouterOsApiLike): void {
  const internals = api as unknown as ApiInternals;
  clearTimeout(internals.connectionHoldInterval);
  clearTimeout(internals.keptaliveby);
  const connector = internals.connector;
  if (!connector) return;
  try {
    connector.destroy(); // destroys the socket and drops the connector's listeners
    connector.on('error', () => undefined); // a late socket error must not become an unhandled 'error'
  } catch {
    // already torn down
  }
}

/** Races `promises` against a timer; on expiry rejects with `onTimeout()` first, then runs `afterTimeout`. */
function withDeadline<T>(promises: Promise<T>[], ms: number, onTimeout: () => Error, afterTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(onTimeout());
      afterTimeout?.();
    }, ms);
  });
  return Promise.race([...promises, expired]).finally(() => clearTimeout(timer));
}

export function describe(err: unknown): string {
  if (isErrorLike(err)) {
    const errno = (err as { errno?: unknown }).errno;
    return err.message || (typeof errno === 'number' || typeof errno === 'string' ? `errno ${errno}` : err.name);
  }
  return String(err);
}
