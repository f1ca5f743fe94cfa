/**
 * Plumbing shared by the operator commands (`doctor controller`, `jobs`, `volumes`, `orphans`): the same config
 * flags as the servers plus the Redis connection flags, `--json`, and exit codes scripts can trust:
 *   0 = ok, 1 = a check failed / not found / a run-time failure (Redis or RDS unreachable), 2 = bad usage or config.
 */
import type { Command, CommanderError } from 'commander';
import type { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { configFromFlags, type CommonFlags } from './common';
import { addConfigOptions } from '../config/options';
import { ConfigError } from '../config/load';
import type { Config } from '../config/schema';
import { describeRedisTarget, redisConnection, redisTargetFromConfig, type RedisTarget } from '../queue/connection';
import { VOLUME_QUEUE } from '../queue/jobs';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, OpsFailure, UsageError } from './exit-codes';

export { EXIT_FAILED, EXIT_OK, EXIT_USAGE, OpsFailure, UsageError };

export interface OpsFlags extends CommonFlags {
  json?: boolean;
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
  return addConfigOptions(cmd, 'ops')
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

export interface OpsContext {
  cfg: Config;
  target: RedisTarget;
  timeoutMs: number;
  json: boolean;
}

export function opsContext(flags: OpsFlags): OpsContext {
  const cfg = configFromFlags('ops', { ...flags, logLevel: flags.logLevel ?? 'silent' });
  const target = redisTargetFromConfig(cfg);
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
