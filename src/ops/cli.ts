import { readFileSync } from 'node:fs';
import type { Command, CommanderError } from 'commander';
import type { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { parse as parseYaml } from 'yaml';
import { addCommonOptions, configFromFlags, type CommonFlags } from '../cli/common';
import { ConfigError } from '../config/load';
import type { Config } from '../config/schema';
import { describeRedisTarget, redisConnection, redisSettingsSchema, redisTargetFromConfig, type RedisSettings, type RedisTarget } from '../queue/connection';
import { VOLUME_QUEUE } from '../queue/jobs';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, OpsFailure, UsageError } from './errors';

export { EXIT_FAILED, EXIT_OK, EXIT_USAGE, OpsFailure, UsageError };

/**
 * Plumbing shared by the operator commands (`doctor controller`, `jobs`, `volumes`, `orphans`): the same config
 * flags as the servers plus the Redis connection flags, `--json`, and exit codes scripts can trust:
 *   0 = ok, 1 = a check failed / not found / a run-time failure (Redis or RDS unreachable), 2 = bad usage or config.
 */

export interface OpsFlags extends CommonFlags {
  json?: boolean;
  redisCaFile?: string;
  redisSentinels?: string;
  redisSentinelName?: string;
  timeoutMs?: string;
}

/** Commander's own usage errors (unknown option, missing argument, bad choice) exit 2 instead of 1. */
export function usageExit2(cmd: Command): Command {
  cmd.exitOverride((err: CommanderError) => {
    process.exit(err.exitCode === 0 ? EXIT_OK : EXIT_USAGE);
  });
  for (const sub of cmd.commands) usageExit2(sub);
  return cmd;
}

export function addOpsOptions(cmd: Command): Command {
  return addCommonOptions(cmd)
    .option('--redis-ca-file <file>', 'CA bundle (PEM) that signs the Redis server certificate (rediss://)')
    .option('--redis-sentinels <host:port,...>', 'reach Redis through these Sentinels (redisUrl then only gives password/db/scheme)')
    .option('--redis-sentinel-name <name>', 'the master group name the Sentinels monitor')
    .option('--timeout-ms <ms>', 'how long to wait for Redis and RDS', '5000')
    .option('--json', 'machine-readable output');
}

export function parseCount(value: string | undefined, flag: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${flag} ${value}: expected a whole number >= ${min}`);
  }
  return Number(value);
}

/**
 * The `redis` settings (sentinels, sentinelName, sentinelPassword, caFile): from cfg.redis when the config schema
 * carries that block, otherwise from the YAML file's `redis:` block and RDS_CSI_REDIS_* variables; flags win.
 */
export function redisSettingsFor(cfg: Config, flags: OpsFlags, env: NodeJS.ProcessEnv = process.env): RedisSettings {
  const fromCfg = (cfg as Config & { redis?: RedisSettings }).redis;
  let base: Record<string, unknown> = {};
  if (fromCfg) {
    base = { ...fromCfg };
  } else {
    if (flags.config) {
      const doc = parseYaml(readFileSync(flags.config, 'utf8')) as { redis?: unknown } | null;
      if (doc && typeof doc.redis === 'object' && doc.redis !== null) base = { ...(doc.redis as Record<string, unknown>) };
    }
    const envMap: Record<string, string> = {
      sentinels: 'RDS_CSI_REDIS_SENTINELS',
      sentinelName: 'RDS_CSI_REDIS_SENTINEL_NAME',
      sentinelPassword: 'RDS_CSI_REDIS_SENTINEL_PASSWORD',
      caFile: 'RDS_CSI_REDIS_CA_FILE',
    };
    for (const [key, name] of Object.entries(envMap)) {
      const v = env[name];
      if (v !== undefined && v !== '') base[key] = v;
    }
  }
  if (flags.redisSentinels !== undefined) base.sentinels = flags.redisSentinels;
  if (flags.redisSentinelName !== undefined) base.sentinelName = flags.redisSentinelName;
  if (flags.redisCaFile !== undefined) base.caFile = flags.redisCaFile;
  const parsed = redisSettingsSchema.safeParse(base);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `redis.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}

export interface OpsContext {
  cfg: Config;
  target: RedisTarget;
  timeoutMs: number;
  json: boolean;
}

export function opsContext(flags: OpsFlags): OpsContext {
  const cfg = configFromFlags({ ...flags, logLevel: flags.logLevel ?? 'silent' });
  const target = redisTargetFromConfig({ redisUrl: cfg.redisUrl, redis: redisSettingsFor(cfg, flags) });
  return { cfg, target, timeoutMs: parseCount(flags.timeoutMs, '--timeout-ms', 5000, 1), json: !!flags.json };
}

/** A connected Redis, or OpsFailure naming where it tried and why it failed. */
export async function openRedis(ctx: OpsContext): Promise<Redis> {
  const conn = redisConnection(ctx.target, 'fast');
  let lastError: Error | undefined;
  conn.on('error', (err: Error) => {
    lastError = err;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      conn.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ctx.timeoutMs} ms`)), ctx.timeoutMs);
      }),
    ]);
    return conn;
  } catch (err) {
    conn.disconnect();
    const why = lastError?.message ?? (err as Error).message;
    throw new OpsFailure(`cannot reach Redis (${describeRedisTarget(ctx.target)}): ${why}`);
  } finally {
    clearTimeout(timer);
  }
}

export function openQueue(ctx: OpsContext, conn: Redis): Queue {
  const queue = new Queue(VOLUME_QUEUE, { connection: conn, prefix: ctx.cfg.queuePrefix, skipVersionCheck: true });
  queue.on('error', () => undefined);
  return queue;
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/**
 * Runs a command body and turns its outcome into the exit code: the body's own number, or 0; UsageError and
 * ConfigError → 2; anything else → 1, with the message on stderr.
 */
export async function runOps(body: () => Promise<number | void>): Promise<void> {
  try {
    process.exitCode = (await body()) ?? EXIT_OK;
  } catch (err) {
    const e = err as Error;
    const usage = e instanceof UsageError || e instanceof ConfigError || e.name === 'ConfigError';
    process.stderr.write(`rds-csi: ${e.message}\n`);
    process.exitCode = usage ? EXIT_USAGE : EXIT_FAILED;
  }
}
