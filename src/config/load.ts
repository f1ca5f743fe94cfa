import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { configSchema, type Config } from './schema';

/**
 * Builds the Config from, in increasing precedence: an optional YAML file, RDS_CSI_* environment variables and
 * command-line overrides. Environment names follow the key path: rds.password → RDS_CSI_RDS_PASSWORD,
 * worker.concurrency → RDS_CSI_WORKER_CONCURRENCY, redisUrl → RDS_CSI_REDIS_URL.
 */

export type Overrides = Record<string, unknown>;

export class ConfigError extends Error {}

function envName(path: string[]): string {
  return 'RDS_CSI_' + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

/** Every leaf key path of the schema, e.g. ['rds','host']. */
function leafPaths(schema: z.ZodType, prefix: string[] = []): string[][] {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  if (s instanceof z.ZodObject) {
    return Object.entries(s.shape as Record<string, z.ZodType>).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
  }
  return [prefix];
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)) {
      out[k] = merge(b as Record<string, unknown>, v as Record<string, unknown>);
    } else if (v !== undefined) {
      out[k] = v;
    }
  }
  return out;
}

/** Overrides use dotted keys ("rds.host") or nested objects. */
function expand(overrides: Overrides): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) continue;
    if (k.includes('.')) setPath(out, k.split('.'), v);
    else out[k] = v;
  }
  return out;
}

export function loadConfig(overrides: Overrides = {}, env: NodeJS.ProcessEnv = process.env, file?: string): Config {
  let raw: Record<string, unknown> = {};
  if (file) {
    try {
      const parsed: unknown = parseYaml(readFileSync(file, 'utf8'));
      if (parsed && typeof parsed === 'object') raw = parsed as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
  }
  const fromEnv: Record<string, unknown> = {};
  for (const path of leafPaths(configSchema)) {
    const value = env[envName(path)];
    if (value !== undefined && value !== '') setPath(fromEnv, path, value);
  }
  raw = merge(merge(raw, fromEnv), expand(overrides));
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const cfg = result.data;
  if (cfg.volumes.minBytes > cfg.volumes.maxBytes) {
    throw new ConfigError(`invalid configuration: volumes.minBytes (${cfg.volumes.minBytes}) exceeds volumes.maxBytes (${cfg.volumes.maxBytes})`);
  }
  return cfg;
}

export const configEnvNames = (): string[] => leafPaths(configSchema).map(envName);
