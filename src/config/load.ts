import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './error';
import { describeKey, envName, type Overrides } from './options';
import { configSchema, nodeOptionsSchema, type Config, type NodeConfig, type NodeOptions, type NodeOptionsInput } from './schema';

/**
 * Builds the Config from, in increasing precedence: an optional YAML file, RDS_CSI_* environment variables and
 * command-line overrides (the flags of options.ts). Environment names follow the key path (options.ts envName):
 * rds.password → RDS_CSI_RDS_PASSWORD, node.kubeletDir → RDS_CSI_NODE_KUBELET_DIR, redisUrl → RDS_CSI_REDIS_URL.
 * Every error names the key with its flag and env name.
 */

export { ConfigError, type Overrides };

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

/**
 * The YAML parser, loaded only when a --config file is given: the node plugin runs on every host and is normally
 * configured by flags and environment alone (issue 14 item 4; test/cli/node-module-graph.test.ts).
 */
function parseYaml(text: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous lazy load (loadConfig is synchronous)
  return (require('yaml') as typeof import('yaml')).parse(text);
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
    const value = env[envName(path.join('.'))];
    if (value !== undefined && value !== '') setPath(fromEnv, path, value);
  }
  raw = merge(merge(raw, fromEnv), expand(overrides));
  const result = configSchema.safeParse(raw);
  if (!result.success) throw invalid(result.error.issues, []);
  const cfg = result.data;
  if (cfg.volumes.minBytes > cfg.volumes.maxBytes) {
    throw new ConfigError(`invalid configuration: volumes.minBytes (${cfg.volumes.minBytes}) exceeds volumes.maxBytes (${cfg.volumes.maxBytes})`);
  }
  return cfg;
}

export const configEnvNames = (): string[] => leafPaths(configSchema).map((p) => envName(p.join('.')));

function invalid(issues: readonly z.core.$ZodIssue[], under: string[]): ConfigError {
  const problems = issues.map((i) => {
    const key = [...under, ...i.path.map(String)].join('.');
    return `${key ? describeKey(key) : '(root)'}: ${i.message}`;
  });
  return new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}

/**
 * The node plugin's options from the config's `node:` block (or, in tests, a literal): the same schema with the
 * node id required and the loop connector's data dir. Errors name `node.<key>` with its flag and env name.
 */
export function parseNodeOptions(input: NodeOptionsInput | NodeConfig): NodeOptions {
  const r = nodeOptionsSchema.safeParse(input);
  if (!r.success) throw invalid(r.error.issues, ['node']);
  return r.data;
}
