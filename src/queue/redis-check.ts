/**
 * What the driver needs from Redis, checked on a live connection: reachable, the master (writable), a version
 * BullMQ supports, `maxmemory-policy noeviction` (any other policy may evict a job or record key under memory
 * pressure, and an operation is silently lost), persistence (AOF or RDB snapshots, or a restart loses every queued
 * operation and every record), and a queue prefix that keeps all keys in one Cluster slot when it carries a hash
 * tag. Managed services often disable CONFIG: the policy and AOF are then read from INFO, and what INFO cannot
 * tell is reported as a warning, never guessed.
 *
 * `inspectRedis` returns every check (for `rds-csi doctor controller`); `checkRedis` only the problems (for the
 * controller and worker to log at start-up). Neither throws, and both finish within `timeoutMs` even when Redis
 * does not answer.
 */
import type { Redis } from 'ioredis';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface OpsCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do; set when status is not ok. */
  fix?: string;
}

export interface RedisProblem {
  check: string;
  severity: 'error' | 'warning';
  message: string;
  fix: string;
}

export interface RedisCheckOptions {
  /** The BullMQ/record key prefix (cfg.queuePrefix): checked for a well-formed Cluster hash tag. */
  prefix?: string;
  /** Overall deadline; default 5000 ms. */
  timeoutMs?: number;
}

const MIN_VERSION = '5.0.0';
const RECOMMENDED_VERSION = '6.2.0';

class Timeout extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`${what}: no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** `INFO` text → key/value map (all sections). */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

function versionLess(a: string, b: string): boolean {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < 3; i++) {
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) < (pb[i] ?? 0);
  }
  return false;
}

/**
 * The Redis Cluster hash tag of a key: the text between the first `{` and the next `}`, when non-empty
 * (undefined otherwise, and then the whole key is hashed).
 */
export function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return undefined;
  return key.slice(open + 1, close);
}

/** CRC16/XMODEM, the checksum Redis Cluster uses for key slots. */
function crc16(buf: Buffer): number {
  let crc = 0;
  for (const byte of buf) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The Cluster slot of a key (as `CLUSTER KEYSLOT` computes it). */
export function keySlot(key: string): number {
  return crc16(Buffer.from(hashTag(key) ?? key, 'utf8')) % 16384;
}

/** The hash-tag check of a prefix: undefined when fine. */
export function prefixProblem(prefix: string): string | undefined {
  if (!prefix.includes('{') && !prefix.includes('}')) return undefined;
  if (hashTag(prefix) === undefined) {
    return `queue prefix "${prefix}" has braces but no complete, non-empty hash tag: Redis hashes each whole key, so the driver's keys spread over Cluster slots`;
  }
  return undefined;
}

async function configGet(conn: Redis, name: string): Promise<string | undefined> {
  const reply = (await conn.call('CONFIG', 'GET', name)) as string[];
  return reply.length >= 2 ? reply[1] : undefined;
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function unreachable(detail: string): OpsCheck {
  return {
    name: 'redis reachable',
    status: 'fail',
    detail,
    fix: 'check redisUrl (or redis.sentinels/redis.sentinelName), that Redis runs and the network path (Service, NetworkPolicy, TLS port); for rediss:// check redis.caFile',
  };
}

export async function inspectRedis(conn: Redis, opts: RedisCheckOptions = {}): Promise<OpsCheck[]> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(1, deadline - Date.now());
  const checks: OpsCheck[] = [];

  let info: Map<string, string>;
  // ioredis reports "max retries reached" on the command; the connection's own error says why (ECONNREFUSED, TLS).
  let connError: Error | undefined;
  const onError = (err: Error): void => {
    connError = err;
  };
  conn.on('error', onError);
  try {
    await withTimeout(conn.ping(), left(), 'PING');
    info = parseInfo(await withTimeout(conn.info(), left(), 'INFO'));
  } catch (err) {
    return [unreachable(connError ? `${connError.message} (${describeError(err)})` : describeError(err))];
  } finally {
    conn.off('error', onError);
  }
  const version = info.get('redis_version') ?? 'unknown';
  const role = info.get('role') ?? 'unknown';
  checks.push({ name: 'redis reachable', status: 'ok', detail: `Redis ${version}, ${info.get('redis_mode') ?? 'standalone'}, role ${role}` });

  if (version === 'unknown') {
    checks.push({
      name: 'redis version',
      status: 'warn',
      detail: 'INFO does not report redis_version',
      fix: `make sure the server is Redis ${RECOMMENDED_VERSION} or newer (BullMQ needs ${MIN_VERSION})`,
    });
  } else if (versionLess(version, MIN_VERSION)) {
    checks.push({
      name: 'redis version',
      status: 'fail',
      detail: `${version} is older than ${MIN_VERSION}, the oldest BullMQ runs on`,
      fix: `upgrade Redis to ${RECOMMENDED_VERSION} or newer`,
    });
  } else if (versionLess(version, RECOMMENDED_VERSION)) {
    checks.push({
      name: 'redis version',
      status: 'warn',
      detail: `${version}; BullMQ recommends ${RECOMMENDED_VERSION} or newer`,
      fix: `upgrade Redis to ${RECOMMENDED_VERSION} or newer`,
    });
  } else {
    checks.push({ name: 'redis version', status: 'ok', detail: version });
  }

  if (role !== 'master' && role !== 'unknown') {
    checks.push({
      name: 'redis role',
      status: 'fail',
      detail: `connected to a ${role === 'slave' ? 'replica' : role}: writes will fail`,
      fix: 'point redisUrl at the master, or use redis.sentinels + redis.sentinelName so the client follows failovers',
    });
  }

  // CONFIG: disabled (renamed) on many managed services, or refused by ACLs.
  let configError: string | undefined;
  let policy: string | undefined;
  let appendonly: string | undefined;
  let appendfsync: string | undefined;
  let save: string | undefined;
  try {
    policy = await withTimeout(configGet(conn, 'maxmemory-policy'), left(), 'CONFIG GET');
    appendonly = await withTimeout(configGet(conn, 'appendonly'), left(), 'CONFIG GET');
    appendfsync = await withTimeout(configGet(conn, 'appendfsync'), left(), 'CONFIG GET');
    save = await withTimeout(configGet(conn, 'save'), left(), 'CONFIG GET');
  } catch (err) {
    if (err instanceof Timeout) return [...checks, unreachable(err.message)];
    configError = describeError(err).split(', with args')[0];
  }
  const configNote = configError ? ` (CONFIG is disabled here: ${configError}; read from INFO)` : '';

  policy ??= info.get('maxmemory_policy');
  const maxmemory = info.get('maxmemory') === '0' ? 'no limit' : (info.get('maxmemory_human') ?? info.get('maxmemory'));
  if (policy === undefined) {
    checks.push({
      name: 'redis maxmemory-policy',
      status: 'warn',
      detail: `cannot be read${configNote}: neither CONFIG GET nor INFO memory reports it`,
      fix: 'make sure the server runs with maxmemory-policy noeviction (in a managed service: its parameter group)',
    });
  } else if (policy !== 'noeviction') {
    checks.push({
      name: 'redis maxmemory-policy',
      status: 'fail',
      detail: `${policy} (maxmemory ${maxmemory ?? 'unknown'})${configNote}: under memory pressure Redis may evict a job or record key, and the operation it carried is lost`,
      fix: 'set maxmemory-policy noeviction: in redis.conf, or CONFIG SET maxmemory-policy noeviction followed by CONFIG REWRITE; in a managed service, its parameter group',
    });
  } else {
    checks.push({ name: 'redis maxmemory-policy', status: 'ok', detail: `noeviction (maxmemory ${maxmemory ?? 'unknown'})${configNote}` });
  }

  checks.push(persistenceCheck(info, { configError, appendonly, appendfsync, save }));

  if (info.get('cluster_enabled') === '1') {
    checks.push({
      name: 'redis cluster',
      status: 'fail',
      detail: 'this server is a Redis Cluster node; the driver connects to one endpoint and does not follow MOVED redirects',
      fix: 'use a standalone Redis or a Sentinel-managed master (redis.sentinels); behind a Cluster-aware proxy, keep a hash-tag queue prefix such as {rds-csi}',
    });
  }
  if (opts.prefix !== undefined) {
    const problem = prefixProblem(opts.prefix);
    const tag = hashTag(opts.prefix);
    checks.push(
      problem
        ? {
            name: 'queue prefix',
            status: 'fail',
            detail: problem,
            fix: `use a well-formed hash tag such as {${opts.prefix.replace(/[{}]/g, '') || 'rds-csi'}} or no braces at all`,
          }
        : {
            name: 'queue prefix',
            status: 'ok',
            detail: tag
              ? `"${opts.prefix}": hash tag "${tag}", every driver key is in Cluster slot ${keySlot(opts.prefix)}`
              : `"${opts.prefix}" (no hash tag: right for standalone and Sentinel; use {${opts.prefix}} behind a Cluster proxy)`,
          },
    );
  }
  return checks;
}

function persistenceCheck(
  info: Map<string, string>,
  c: { configError?: string; appendonly?: string; appendfsync?: string; save?: string },
): OpsCheck {
  const name = 'redis persistence';
  const aofOn = c.appendonly !== undefined ? c.appendonly === 'yes' : info.get('aof_enabled') === '1';
  const saveKnown = c.configError === undefined && c.save !== undefined;
  const rdbOn = saveKnown && (c.save ?? '').trim() !== '';
  if (info.get('aof_last_write_status') === 'err' && aofOn) {
    return {
      name,
      status: 'fail',
      detail: 'the last AOF write failed: Redis refuses writes until it can persist again',
      fix: 'check the disk of the Redis data dir (space, permissions) and the Redis log',
    };
  }
  if (info.get('rdb_last_bgsave_status') === 'err' && rdbOn) {
    return {
      name,
      status: 'fail',
      detail: 'the last RDB snapshot failed: Redis refuses writes (MISCONF) until a snapshot succeeds',
      fix: 'check the disk of the Redis data dir (space, permissions) and the Redis log',
    };
  }
  if (aofOn) {
    const fsync = c.appendfsync ?? 'unknown (CONFIG disabled)';
    const detail = `AOF on, appendfsync ${fsync}${rdbOn ? `, RDB save "${c.save ?? ''}"` : ''}`;
    if (c.appendfsync === 'no') {
      return {
        name,
        status: 'warn',
        detail: `${detail}: the OS decides when to flush, so seconds of operations can be lost on a crash`,
        fix: 'set appendfsync everysec',
      };
    }
    return { name, status: 'ok', detail };
  }
  if (rdbOn) {
    return {
      name,
      status: 'ok',
      detail: `RDB snapshots (save "${c.save ?? ''}"), AOF off: operations since the last snapshot are lost on a crash; AOF with appendfsync everysec is safer`,
    };
  }
  if (!saveKnown) {
    return {
      name,
      status: 'warn',
      detail: `AOF is off and the RDB save schedule cannot be read (CONFIG is disabled${c.configError ? `: ${c.configError}` : ''})`,
      fix: 'make sure the service keeps AOF or snapshots; a Redis restart without persistence loses every queued job and every volume record',
    };
  }
  return {
    name,
    status: 'fail',
    detail: 'none: AOF off and no RDB save schedule; a Redis restart loses every queued job and every volume record',
    fix: 'turn on AOF: appendonly yes and appendfsync everysec in redis.conf (or CONFIG SET appendonly yes, then CONFIG REWRITE)',
  };
}

/** The problems only, for start-up logs. Never throws; an unreachable Redis is one error problem. */
export async function checkRedis(conn: Redis, opts: RedisCheckOptions = {}): Promise<RedisProblem[]> {
  let checks: OpsCheck[];
  try {
    checks = await inspectRedis(conn, opts);
  } catch (err) {
    checks = [unreachable(describeError(err))];
  }
  return checks
    .filter((c) => c.status !== 'ok')
    .map((c) => ({ check: c.name, severity: c.status === 'fail' ? 'error' : 'warning', message: `${c.name}: ${c.detail}`, fix: c.fix ?? '' }));
}

/** One line for a log: `redis maxmemory-policy: allkeys-lru …; fix: set maxmemory-policy noeviction …`. */
export function formatRedisProblem(p: RedisProblem): string {
  return p.fix ? `${p.message}; fix: ${p.fix}` : p.message;
}
