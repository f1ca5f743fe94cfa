/**
 * `rds-csi doctor controller`: what the controller and workers need, each check with what to do when it fails.
 * Redis (reachable, noeviction, persistence, version, role, prefix), the queue (counts, workers), and for every RDS
 * backend (issue 16: the primary `rds`, then each of `backends`, one section each) the RouterOS API (TLS,
 * credentials, reachability), the pool and its capacity, the disks under the base path. Changes nothing.
 * ok = no check failed (warnings do not fail it); a failing backend is named in the summary.
 */
import type { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { backendsOf, type BackendConfig } from '../config/backends';
import type { Config } from '../config/schema';
import { isUnder } from '../domain/ids';
import { describeRedisTarget, redisConnection, type RedisTarget } from '../queue/connection';
import { VOLUME_QUEUE } from '../queue/jobs';
import type { RdsPort } from '../rds/port';
import { rdsFromConfig } from '../rds/factory';
import { bytes } from './format';
import { inspectRedis, type OpsCheck } from '../queue/redis-check';

export interface ControllerDoctorInput {
  cfg: Config;
  target: RedisTarget;
  timeoutMs: number;
}

export interface ControllerDoctorResult {
  ok: boolean;
  checks: DoctorCheck[];
  /** Every RDS backend (the primary first) and whether its checks passed. */
  backends: Array<{ name: string; ok: boolean }>;
  text: string;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function queueChecks(conn: Redis, cfg: Config, timeoutMs: number): Promise<OpsCheck[]> {
  const queue = new Queue(VOLUME_QUEUE, { connection: conn, prefix: cfg.queuePrefix, skipVersionCheck: true });
  queue.on('error', () => undefined);
  const checks: OpsCheck[] = [];
  try {
    const c = await within(queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'), timeoutMs, 'job counts');
    const detail = `${cfg.queuePrefix}:${VOLUME_QUEUE}: waiting ${(c.waiting ?? 0) + (c.prioritized ?? 0)}, active ${c.active ?? 0}, delayed ${c.delayed ?? 0}, failed ${c.failed ?? 0}, completed ${c.completed ?? 0}`;
    checks.push(
      c.failed
        ? {
            name: 'queue',
            status: 'warn',
            detail,
            fix: 'see why with `rds-csi jobs list --state failed` and `rds-csi jobs show <id>`; `rds-csi jobs retry <id>` runs one again',
          }
        : { name: 'queue', status: 'ok', detail },
    );
  } catch (err) {
    checks.push({
      name: 'queue',
      status: 'fail',
      detail: msg(err),
      fix: 'check the Redis ACL of the driver user (BullMQ needs its keys and EVALSHA)',
    });
  }
  try {
    const n = await within(queue.getWorkersCount(), timeoutMs, 'CLIENT LIST');
    checks.push(
      n > 0
        ? { name: 'workers', status: 'ok', detail: `${n} worker connection(s) on the queue` }
        : {
            name: 'workers',
            status: 'warn',
            detail: 'no worker is connected: jobs wait and CreateVolume answers ABORTED until one is',
            fix: 'start `rds-csi worker` (or the controller with --with-worker) against the same Redis and queue prefix',
          },
    );
  } catch (err) {
    checks.push({
      name: 'workers',
      status: 'warn',
      detail: `cannot list Redis clients (${msg(err)})`,
      fix: 'allow CLIENT LIST for the driver user to see workers here',
    });
  }
  await queue.close().catch(() => undefined);
  return checks;
}

/** `key` names the settings of this backend: `rds` for the primary, `backends[i]` for an extra one. */
function rdsFix(message: string, key: string): string {
  if (/login|password|privilege|permission/i.test(message)) {
    return key === 'rds'
      ? 'check rds.user and the password (RDS_CSI_RDS_PASSWORD or --rds-password-file), and that the user group has the api, read and write policies'
      : `check ${key}.user and the password (${key}.passwordFile or ${key}.password), and that the user group has the api, read and write policies`;
  }
  if (/TLS|certificate|CERT|SSL|EPROTO/i.test(message)) {
    return `check ${key}.caFile (the CA that signed the RDS certificate), ${key}.tlsServerName (a name in the certificate) and that ${key}.port is the api-ssl port (8729)`;
  }
  return `check ${key}.host and ${key}.port, that the API service is enabled on RDS (/ip service: api 8728, api-ssl 8729) and reachable from here (firewall, NetworkPolicy); with TLS on a plain port (or the reverse) the connection also just times out`;
}

/** One check of the controller doctor; the RDS checks name their backend (issue 16: one section per backend). */
export type DoctorCheck = OpsCheck & { backend?: string };

async function rdsChecks(cfg: Config, b: BackendConfig, key: string, timeoutMs: number, make: (c: BackendConfig) => RdsPort): Promise<DoctorCheck[]> {
  const r = b.rds;
  const where = `${r.host}:${r.port} as ${r.user}`;
  const transport = r.tls
    ? `api-ssl, ${r.caFile ? `CA pinned to ${r.caFile}` : 'system CAs'}${r.tlsServerName ? `, name ${r.tlsServerName}` : ''}`
    : 'plain API';
  const checks: OpsCheck[] = [];
  let rds: RdsPort;
  try {
    rds = make(b);
  } catch (err) {
    return [
      {
        name: 'rds connection',
        status: 'fail',
        detail: `${where}: ${msg(err)}`,
        fix: `check ${key}.caFile: the file must exist and be readable`,
        backend: b.name,
      },
    ];
  }
  const budget = Math.max(timeoutMs, r.connectTimeoutMs + r.callTimeoutMs);
  try {
    await within(rds.ping(), budget, 'RDS ping');
    checks.push({ name: 'rds connection', status: 'ok', detail: `${where} (${transport}): logged in, API answers` });
  } catch (err) {
    const m = msg(err);
    checks.push({ name: 'rds connection', status: 'fail', detail: `${where} (${transport}): ${m}`, fix: rdsFix(m, key) });
  }
  if (!r.tls) {
    checks.push({
      name: 'rds tls',
      status: 'warn',
      detail: 'the RouterOS API is used without TLS: the password and every command cross the network in clear',
      fix: `use api-ssl: ${key}.tls=true, ${key}.port=8729 and ${key}.caFile with the CA of the RDS certificate`,
    });
  }
  if (checks[0].status === 'ok') {
    try {
      const cap = await within(rds.poolCapacity(), budget, 'pool capacity');
      const pct = cap.sizeBytes > 0 ? Math.round((cap.freeBytes / cap.sizeBytes) * 100) : 0;
      const detail = `pool "${r.poolName}": ${bytes(cap.freeBytes)} free of ${bytes(cap.sizeBytes)} (${pct}%)`;
      checks.push(
        pct < 10
          ? { name: 'rds pool', status: 'warn', detail, fix: 'free space on the pool: new volumes fail with RESOURCE_EXHAUSTED when it is full' }
          : { name: 'rds pool', status: 'ok', detail },
      );
    } catch (err) {
      checks.push({
        name: 'rds pool',
        status: 'fail',
        detail: msg(err),
        fix: `check ${key}.poolName ("${r.poolName}"): it must be the mount-point of the pool disk on RDS (/disk print where mount-point)`,
      });
    }
    try {
      const disks = await within(rds.listDisks(cfg.volumePrefix), budget, 'disk list');
      const ours = disks.filter((d) => isUnder(r.basePath, d.filePath));
      checks.push({
        name: 'rds disks',
        status: 'ok',
        detail: `${ours.length} file disk(s) under ${r.basePath}${cfg.volumePrefix ? ` with slot prefix ${cfg.volumePrefix}` : ''}`,
      });
    } catch (err) {
      checks.push({ name: 'rds disks', status: 'fail', detail: msg(err), fix: 'the RDS user needs the read policy for /disk' });
    }
  }
  await rds.close().catch(() => undefined);
  return checks.map((c) => ({ ...c, backend: b.name }));
}

/** Every backend checked at once (a dead one costs its own timeout, not the others'), in the configured order. */
async function backendChecks(cfg: Config, timeoutMs: number, make: (c: BackendConfig) => RdsPort): Promise<DoctorCheck[]> {
  let list: BackendConfig[];
  try {
    list = backendsOf(cfg);
  } catch (err) {
    return [{ name: 'rds backends', status: 'fail', detail: msg(err), fix: "check each backend's passwordFile: it must exist and be readable" }];
  }
  const sections = await Promise.all(list.map((b, i) => rdsChecks(cfg, b, b.primary ? 'rds' : `backends[${i - 1}]`, timeoutMs, make)));
  return sections.flat();
}

/** One line per check (and its fix); a `backend <name>:` heading before each backend's checks; the summary last. */
export function formatChecks(checks: DoctorCheck[]): string {
  const label = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;
  const lines: string[] = [];
  let section: string | undefined;
  for (const c of checks) {
    if (c.backend !== undefined && c.backend !== section) lines.push(`backend ${c.backend}:`);
    section = c.backend;
    lines.push(`${label[c.status]} ${c.name}: ${c.detail}${c.status !== 'ok' && c.fix ? `\n     fix: ${c.fix}` : ''}`);
  }
  const failed = checks.filter((c) => c.status === 'fail');
  const warned = checks.filter((c) => c.status === 'warn').length;
  const failedBackends = [...new Set(failed.flatMap((c) => (c.backend === undefined ? [] : [c.backend])))];
  lines.push(
    failed.length
      ? `${failed.length} check(s) failed${warned ? `, ${warned} warning(s)` : ''}` +
          (failedBackends.length ? `; failing RDS backend(s): ${failedBackends.join(', ')}` : '')
      : `all checks passed${warned ? ` (${warned} warning(s))` : ''}`,
  );
  return lines.join('\n');
}

/** Each backend and whether all of its checks passed (warnings allowed). */
export function backendVerdicts(checks: readonly DoctorCheck[]): Array<{ name: string; ok: boolean }> {
  const names = [...new Set(checks.flatMap((c) => (c.backend === undefined ? [] : [c.backend])))];
  return names.map((name) => ({ name, ok: checks.every((c) => c.backend !== name || c.status !== 'fail') }));
}

export async function controllerDoctor(
  input: ControllerDoctorInput,
  deps: { rds?: (c: BackendConfig) => RdsPort } = {},
): Promise<ControllerDoctorResult> {
  const { cfg, target, timeoutMs } = input;
  const checks: DoctorCheck[] = [];
  let conn: Redis | undefined;
  try {
    conn = redisConnection(target, 'fast');
    const redis = await inspectRedis(conn, { prefix: cfg.queuePrefix, timeoutMs });
    redis[0].detail = `${describeRedisTarget(target)}: ${redis[0].detail}`;
    checks.push(...redis);
    if (redis[0].status === 'ok') checks.push(...(await queueChecks(conn, cfg, timeoutMs)));
  } catch (err) {
    checks.push({
      name: 'redis reachable',
      status: 'fail',
      detail: `${describeRedisTarget(target)}: ${msg(err)}`,
      fix: 'check redisUrl, redis.caFile and redis.sentinels',
    });
  } finally {
    conn?.disconnect();
  }
  checks.push(...(await backendChecks(cfg, timeoutMs, deps.rds ?? ((c) => rdsFromConfig(c.rds)))));
  const ok = checks.every((c) => c.status !== 'fail');
  return { ok, checks, backends: backendVerdicts(checks), text: formatChecks(checks) };
}
