/**
 * `rds-csi doctor controller`: what the controller and workers need, each check with what to do when it fails.
 * Redis (reachable, noeviction, persistence, version, role, prefix), the queue (counts, workers), RDS over the
 * configured RouterOS API (TLS, credentials, reachability), the pool and its capacity. Changes nothing.
 * ok = no check failed (warnings do not fail it).
 */
import type { Redis } from 'ioredis';
import { Queue } from 'bullmq';
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
  checks: OpsCheck[];
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

function rdsFix(message: string): string {
  if (/login|password|privilege|permission/i.test(message)) {
    return 'check rds.user and the password (RDS_CSI_RDS_PASSWORD or --rds-password-file), and that the user group has the api, read and write policies';
  }
  if (/TLS|certificate|CERT|SSL|EPROTO/i.test(message)) {
    return 'check rds.caFile (the CA that signed the RDS certificate), rds.tlsServerName (a name in the certificate) and that rds.port is the api-ssl port (8729)';
  }
  return 'check rds.host and rds.port, that the API service is enabled on RDS (/ip service: api 8728, api-ssl 8729) and reachable from here (firewall, NetworkPolicy); with TLS on a plain port (or the reverse) the connection also just times out';
}

async function rdsChecks(cfg: Config, timeoutMs: number, given?: RdsPort): Promise<OpsCheck[]> {
  const r = cfg.rds;
  const where = `${r.host}:${r.port} as ${r.user}`;
  const transport = r.tls
    ? `api-ssl, ${r.caFile ? `CA pinned to ${r.caFile}` : 'system CAs'}${r.tlsServerName ? `, name ${r.tlsServerName}` : ''}`
    : 'plain API';
  const checks: OpsCheck[] = [];
  let rds: RdsPort;
  try {
    rds = given ?? rdsFromConfig(r);
  } catch (err) {
    return [
      { name: 'rds connection', status: 'fail', detail: `${where}: ${msg(err)}`, fix: 'check rds.caFile: the file must exist and be readable' },
    ];
  }
  const budget = Math.max(timeoutMs, r.connectTimeoutMs + r.callTimeoutMs);
  try {
    await within(rds.ping(), budget, 'RDS ping');
    checks.push({ name: 'rds connection', status: 'ok', detail: `${where} (${transport}): logged in, API answers` });
  } catch (err) {
    const m = msg(err);
    checks.push({ name: 'rds connection', status: 'fail', detail: `${where} (${transport}): ${m}`, fix: rdsFix(m) });
  }
  if (!r.tls) {
    checks.push({
      name: 'rds tls',
      status: 'warn',
      detail: 'the RouterOS API is used without TLS: the password and every command cross the network in clear',
      fix: 'use api-ssl: rds.tls=true, rds.port=8729 and rds.caFile with the CA of the RDS certificate',
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
        fix: `check rds.poolName ("${r.poolName}"): it must be the mount-point of the pool disk on RDS (/disk print where mount-point)`,
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
  if (!given) await rds.close().catch(() => undefined);
  return checks;
}

export function formatChecks(checks: OpsCheck[]): string {
  const label = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL' } as const;
  const lines = checks.map((c) => `${label[c.status]} ${c.name}: ${c.detail}${c.status !== 'ok' && c.fix ? `\n     fix: ${c.fix}` : ''}`);
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  lines.push(
    failed ? `${failed} check(s) failed${warned ? `, ${warned} warning(s)` : ''}` : `all checks passed${warned ? ` (${warned} warning(s))` : ''}`,
  );
  return lines.join('\n');
}

export async function controllerDoctor(input: ControllerDoctorInput, deps: { rds?: RdsPort } = {}): Promise<ControllerDoctorResult> {
  const { cfg, target, timeoutMs } = input;
  const checks: OpsCheck[] = [];
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
  checks.push(...(await rdsChecks(cfg, timeoutMs, deps.rds)));
  const ok = checks.every((c) => c.status !== 'fail');
  return { ok, checks, text: formatChecks(checks) };
}
