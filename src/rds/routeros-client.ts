/**
 * One pooled RouterOS API connection over node-routeros 1.6.9, wrapped so that none of its failure modes
 * (docs/ARCHITECTURE.md RouterOS §3) reaches the driver:
 * - `!empty` is handled by the adapter in empty-reply-patch.ts (imported here, so it is always applied);
 * - a `!trap` rejects with RosTrapError (message and category) through the adapter in trap-reply-patch.ts;
 * - an 'error' listener is always attached (idle timeout / socket errors would otherwise crash the process);
 * - every call has its own deadline; on expiry the connection is dropped, because node-routeros may have gone deaf;
 * - every pending call is failed when the connection closes (`!fatal`, peer close, socket error), since node-routeros
 *   never settles them itself;
 * - connects are lazy, shared by concurrent callers, and retried with capped exponential backoff plus jitter.
 */
import './empty-reply-patch';
import './trap-reply-patch';
import { RouterOSAPI, type IRosOptions } from 'node-routeros';
import type { ConnectionOptions, TlsOptions } from 'tls';
import { isErrorLike, RosTransportError, RosTrapError } from './errors';
import { RosConnection, type RouterOsApiLike } from './connection';

export interface RouterOsTlsOptions {
  /** CA to pin: the server certificate must chain to it (rejectUnauthorized stays true). */
  ca?: string | Buffer;
  servername?: string;
  /** Defaults to true. Only for lab setups. */
  rejectUnauthorized?: boolean;
}

export type CallOutcome = 'ok' | 'trap' | 'timeout' | 'error';

export interface RouterOsClientOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  tls?: RouterOsTlsOptions;
  connectTimeoutMs: number;
  callTimeoutMs: number;
  /** Socket idle timeout handed to node-routeros (seconds, default 60); an idle pooled connection is then reopened. */
  idleTimeoutSec?: number;
  /** Reconnect backoff after failed connects: base * 2^(n-1), capped, with jitter. Defaults 100 ms / 5 s. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Observability hooks (e.g. prom-client). Exceptions thrown by them are ignored. */
  onCall?: (command: string, outcome: CallOutcome, seconds: number) => void;
  onState?: (connected: boolean) => void;
  /** For tests: how the underlying API object is made. */
  createApi?: (opts: IRosOptions) => RouterOsApiLike;
}

export interface RosCaller {
  /** `timeoutMs` overrides the client's call deadline for slow commands (e.g. a copy-from add). */
  write(command: string, words: string[], timeoutMs?: number): Promise<Record<string, string>[]>;
  close(): Promise<void>;
}

export class RouterOsClient implements RosCaller {
  private conn: RosConnection | undefined;
  private connecting: Promise<RosConnection> | undefined;
  private connectFailures = 0;
  private lastConnectFailureAt = 0;
  private closed = false;

  constructor(private readonly opts: RouterOsClientOptions) {}

  get target(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  get connected(): boolean {
    return this.conn !== undefined && this.conn.alive;
  }

  async write(command: string, words: string[], timeoutMs?: number): Promise<Record<string, string>[]> {
    const started = process.hrtime.bigint();
    let outcome: CallOutcome = 'error';
    try {
      const conn = await this.connection();
      const rows = await conn.call(command, words, timeoutMs ?? this.opts.callTimeoutMs);
      outcome = 'ok';
      return rows;
    } catch (err) {
      outcome = outcomeOf(err);
      throw err;
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      safely(() => this.opts.onCall?.(command, outcome, seconds));
    }
  }

  /** Drops the connection and fails every pending call; later writes reject. */
  close(): Promise<void> {
    this.closed = true;
    this.conn?.kill(new RosTransportError('client-closed', `RDS client for ${this.target} was closed`));
    this.conn = undefined;
    return Promise.resolve();
  }

  private connection(): Promise<RosConnection> {
    if (this.closed) {
      return Promise.reject(new RosTransportError('client-closed', `RDS client for ${this.target} is closed`));
    }
    if (this.conn?.alive) return Promise.resolve(this.conn);
    this.connecting ??= this.openWithBackoff().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async openWithBackoff(): Promise<RosConnection> {
    const wait = this.backoffDelayMs();
    if (wait > 0) await new Promise<void>((resolve) => setTimeout(resolve, wait));
    if (this.closed) throw new RosTransportError('client-closed', `RDS client for ${this.target} is closed`);
    const conn = new RosConnection(this.makeApi(), this.target, (wasConnected) => {
      if (this.conn === conn) this.conn = undefined;
      if (wasConnected) safely(() => this.opts.onState?.(false));
    });
    try {
      await conn.open(this.opts.connectTimeoutMs);
    } catch (err) {
      this.connectFailures++;
      this.lastConnectFailureAt = Date.now();
      throw err;
    }
    this.connectFailures = 0;
    if (this.closed) {
      conn.kill(new RosTransportError('client-closed', `RDS client for ${this.target} is closed`));
      throw new RosTransportError('client-closed', `RDS client for ${this.target} is closed`);
    }
    this.conn = conn;
    safely(() => this.opts.onState?.(true));
    return conn;
  }

  /** Remaining backoff before the next connect attempt (0 after a success or the first failure's window passed). */
  private backoffDelayMs(): number {
    if (this.connectFailures === 0) return 0;
    const base = this.opts.backoffBaseMs ?? 100;
    const max = this.opts.backoffMaxMs ?? 5000;
    const exp = Math.min(max, base * 2 ** Math.min(this.connectFailures - 1, 30));
    const jittered = exp / 2 + Math.random() * (exp / 2);
    return Math.max(0, Math.round(this.lastConnectFailureAt + jittered - Date.now()));
  }

  private makeApi(): RouterOsApiLike {
    const o = this.opts;
    const tls: ConnectionOptions | undefined = o.tls
      ? { ca: o.tls.ca, servername: o.tls.servername, rejectUnauthorized: o.tls.rejectUnauthorized ?? true }
      : undefined;
    const apiOpts: IRosOptions = {
      host: o.host,
      port: o.port,
      user: o.user,
      password: o.password,
      timeout: o.idleTimeoutSec ?? 60,
      keepalive: false,
      // node-routeros hands `tls` to tls.connect() as is; its typings say TlsOptions, tls.connect takes ConnectionOptions.
      ...(tls ? { tls: tls as TlsOptions } : {}),
    };
    return o.createApi ? o.createApi(apiOpts) : new RouterOSAPI(apiOpts);
  }
}

function outcomeOf(err: unknown): CallOutcome {
  if (err instanceof RosTransportError) return err.reason === 'timeout' ? 'timeout' : 'error';
  if (err instanceof RosTrapError) return 'trap';
  // node-routeros reports a !trap as a plain Error; its own failures are RosException, Node's carry a code.
  if (isErrorLike(err) && err.name === 'Error' && (err as { code?: unknown }).code === undefined) return 'trap';
  return 'error';
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // observability hooks must never break a call
  }
}
