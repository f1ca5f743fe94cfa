import { z } from 'zod';
import { ConfigError } from './error';
import { envName, type Overrides } from './options';
import { checkBackendNames } from './backends';
import { invalidConfig, rawConfig } from './sources';
import { configSchema, nodeOptionsSchema, type Config, type NodeConfig, type NodeOptions, type NodeOptionsInput } from './schema';

/**
 * Builds the Config from, in increasing precedence: an optional YAML file, RDS_CSI_* environment variables and
 * command-line overrides (the flags of options.ts). Environment names follow the key path (options.ts envName):
 * rds.password → RDS_CSI_RDS_PASSWORD, node.kubeletDir → RDS_CSI_NODE_KUBELET_DIR, redisUrl → RDS_CSI_REDIS_URL.
 * Every error names the key with its flag and env name.
 */

export { ConfigError, type Overrides };

/** Every leaf key path of the schema, e.g. ['rds','host']. */
export function leafPaths(schema: z.ZodType, prefix: string[] = []): string[][] {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  if (s instanceof z.ZodObject) {
    return Object.entries(s.shape as Record<string, z.ZodType>).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
  }
  return [prefix];
}

export function loadConfig(overrides: Overrides = {}, env: NodeJS.ProcessEnv = process.env, file?: string): Config {
  const raw = rawConfig(leafPaths(configSchema), overrides, env, file);
  const result = configSchema.safeParse(raw);
  if (!result.success) throw invalidConfig(result.error.issues, []);
  const cfg = result.data;
  if (cfg.volumes.minBytes > cfg.volumes.maxBytes) {
    throw new ConfigError(`invalid configuration: volumes.minBytes (${cfg.volumes.minBytes}) exceeds volumes.maxBytes (${cfg.volumes.maxBytes})`);
  }
  checkBackendNames(cfg);
  return cfg;
}

export const configEnvNames = (): string[] => leafPaths(configSchema).map((p) => envName(p.join('.')));

/**
 * The node plugin's options from the config's `node:` block (or, in tests, a literal): the same schema with the
 * node id required and the loop connector's data dir. Errors name `node.<key>` with its flag and env name.
 */
export function parseNodeOptions(input: NodeOptionsInput | NodeConfig): NodeOptions {
  const r = nodeOptionsSchema.safeParse(input);
  if (!r.success) throw invalidConfig(r.error.issues, ['node']);
  return r.data;
}
