import { readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import { z } from 'zod';
import { ConfigError } from '../config/load';
import type { redisSchema } from '../config/schema';
import { scrubUrl } from '../log/logger';

/**
 * Redis connections for BullMQ and the state store. BullMQ needs maxRetriesPerRequest null on blocking
 * connections; the API's own connection fails fast instead (enableOfflineQueue off) so an outage answers
 * UNAVAILABLE rather than hanging a CSI call.
 *
 * Where Redis is:
 * - standalone: `redis://[user:password@]host:port[/db]`;
 * - TLS: `rediss://...`; the server certificate is verified against the system CAs, or only against `caFile`
 *   (a PEM bundle) when one is given;
 * - Sentinel (HA): `sentinels` (`host:port,host:port`) and `sentinelName` (the monitored master group). The
 *   URL then only gives the master's credentials, db and scheme: its host and port are ignored. With `rediss://`
 *   both the sentinels and the master are reached over TLS (with the same CA). `sentinelPassword` is for
 *   sentinels that require AUTH.
 *
 * Redis Cluster: every key the driver writes starts with the queue prefix (`<prefix>:<queue>:…` for BullMQ,
 * `<prefix>:state:…` and `<prefix>:lease:…` for records and leases, all named in state/keys.ts), and BullMQ's scripts and the record scripts
 * touch several keys at once. A prefix that is a hash tag, e.g. `{rds-csi}`, puts all of them in one slot, which a
 * Cluster-aware proxy or a sharded "single endpoint" service requires. The client here is not itself a Cluster
 * client (it does not follow MOVED redirects); `rds-csi doctor controller` says so when it meets a Cluster node.
 */

export type RedisKind = 'blocking' | 'fast';

export interface SentinelAddress {
  host: string;
  port: number;
}

/** Everything needed to reach Redis. A plain URL string is the standalone (or rediss://) case. */
export interface RedisTarget {
  url: string;
  /** PEM CA bundle that must sign the server certificate (rediss:// only). */
  caFile?: string;
  /** `host:port,host:port` or already parsed. Requires sentinelName. */
  sentinels?: string | string[] | SentinelAddress[];
  sentinelName?: string;
  sentinelPassword?: string;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/** Parses `host:port,host:port` (IPv6 in brackets). Throws ConfigError naming the bad entry. */
export function parseSentinels(list: string | string[] | SentinelAddress[]): SentinelAddress[] {
  const items: Array<string | SentinelAddress> = typeof list === 'string' ? list.split(',') : list;
  const out: SentinelAddress[] = [];
  for (const item of items) {
    if (typeof item !== 'string') {
      out.push(item);
      continue;
    }
    const s = item.trim();
    if (!s) continue;
    const m = HOST_PORT.exec(s);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) throw new ConfigError(`redis.sentinels: "${s}" is not HOST:PORT`);
    out.push({ host: m[1].replace(/^\[|\]$/g, ''), port });
  }
  return out;
}

/** The `redis` block of the configuration (env RDS_CSI_REDIS_SENTINELS, _SENTINEL_NAME, _SENTINEL_PASSWORD, _CA_FILE). */
export { redisSchema as redisSettingsSchema } from '../config/schema';
export type RedisSettings = z.infer<typeof redisSchema>;

/** Target from the config: `redisUrl` plus the optional `redis` block. */
export function redisTargetFromConfig(cfg: { redisUrl: string; redis?: RedisSettings }): RedisTarget {
  const r = cfg.redis ?? {};
  const target: RedisTarget = {
    url: cfg.redisUrl,
    caFile: r.caFile,
    sentinels: r.sentinels,
    sentinelName: r.sentinelName,
    sentinelPassword: r.sentinelPassword,
  };
  validateRedisTarget(target);
  return target;
}

/** The record stores' WAIT settings (redis.waitReplicas, redis.waitTimeoutMs). */
export function replicaWait(cfg: { redis?: RedisSettings }): { replicas: number; timeoutMs: number } {
  return { replicas: cfg.redis?.waitReplicas ?? 0, timeoutMs: cfg.redis?.waitTimeoutMs ?? 1000 };
}

function sentinelList(t: RedisTarget): SentinelAddress[] {
  return t.sentinels === undefined ? [] : parseSentinels(t.sentinels);
}

/** Throws ConfigError for combinations that cannot work. */
export function validateRedisTarget(t: RedisTarget): void {
  const sentinels = sentinelList(t);
  if (sentinels.length > 0 && !t.sentinelName) throw new ConfigError('redis.sentinels is set but redis.sentinelName (the master group name) is not');
  if (t.sentinelName && sentinels.length === 0) throw new ConfigError('redis.sentinelName is set but redis.sentinels (host:port,...) is empty');
  if (t.caFile && !isTls(t.url)) throw new ConfigError(`redis.caFile is set but redisUrl ${scrubUrl(t.url)} is not rediss://: use rediss:// for TLS`);
}

/** ioredis's own rule: TLS exactly when the URL starts with rediss://. */
function isTls(url: string): boolean {
  return url.startsWith('rediss://');
}

/** Short, secret-free description for logs and the doctor. */
export function describeRedisTarget(target: string | RedisTarget): string {
  const t = typeof target === 'string' ? { url: target } : target;
  const tls = isTls(t.url) ? (t.caFile ? ', TLS pinned to ' + t.caFile : ', TLS') : '';
  const sentinels = sentinelList(t);
  if (sentinels.length > 0) {
    return `master "${t.sentinelName ?? ''}" via sentinels ${sentinels.map((s) => `${s.host}:${s.port}`).join(',')}${tls}`;
  }
  return scrubUrl(t.url) + (t.caFile ? ` (CA ${t.caFile})` : '');
}

function kindOptions(kind: RedisKind): RedisOptions {
  return kind === 'blocking'
    ? { maxRetriesPerRequest: null, enableReadyCheck: true }
    : { maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 2000, commandTimeout: 5000 };
}

/**
 * The ioredis options for a target (URL parts excluded: ioredis parses the URL itself). A URL string gives exactly
 * the options it always did; the RedisTarget form is validated and adds the CA and Sentinel options.
 */
export function redisOptions(target: string | RedisTarget, kind: RedisKind): RedisOptions {
  const opts: RedisOptions = { ...kindOptions(kind), lazyConnect: false };
  if (typeof target === 'string') return opts;
  validateRedisTarget(target);
  const tlsOn = isTls(target.url);
  if (tlsOn) {
    let ca: Buffer | undefined;
    if (target.caFile) {
      try {
        ca = readFileSync(target.caFile);
      } catch (err) {
        throw new ConfigError(`cannot read redis.caFile ${target.caFile}: ${(err as Error).message}`);
      }
    }
    opts.tls = ca ? { ca } : {};
  }
  const sentinels = sentinelList(target);
  if (sentinels.length > 0) {
    opts.sentinels = sentinels;
    opts.name = target.sentinelName;
    if (target.sentinelPassword) opts.sentinelPassword = target.sentinelPassword;
    if (tlsOn) {
      opts.enableTLSForSentinelMode = true;
      opts.sentinelTLS = opts.tls;
    }
  }
  return opts;
}

/**
 * A Redis connection of `kind`. `target` is a URL (the form existing callers use) or a RedisTarget for TLS with a
 * pinned CA and Sentinel.
 */
export function redisConnection(target: string | RedisTarget, kind: RedisKind): Redis {
  const url = typeof target === 'string' ? target : target.url;
  const conn = new Redis(url, redisOptions(target, kind));
  // Errors surface on the commands that fail; without a listener ioredis would log them to stderr.
  conn.on('error', () => undefined);
  return conn;
}
