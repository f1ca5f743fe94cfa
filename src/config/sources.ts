import { readFileSync } from 'node:fs';
import { ConfigError } from './error';
import { describeKey, envName, type Overrides } from './options';

/**
 * Where config values come from, in increasing precedence: an optional YAML file, RDS_CSI_* environment variables
 * and command-line overrides (the flags of options.ts). Shared by loadConfig (load.ts, the zod schema) and the node
 * plugin's loadNodeConfig (node-config.ts), which must not load zod (issue 14 item 4); so this file does not either.
 */

/** One problem with one key: `path` below the validated object, e.g. ['rds', 'basePath']. */
export interface ConfigIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  /** A failed type or option check: zod skips the later checks (a refinement) after one (node-config.ts). */
  readonly fatal?: boolean;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
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
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a synchronous lazy load (config loading is synchronous)
  return (require('yaml') as typeof import('yaml')).parse(text);
}

/**
 * The unvalidated config object: the file, then the env variable of every key in `leafPaths` (non-empty values
 * only), then the overrides, merged key by key.
 */
export function rawConfig(
  leafPaths: readonly (readonly string[])[],
  overrides: Overrides,
  env: NodeJS.ProcessEnv,
  file: string | undefined,
): Record<string, unknown> {
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
  for (const path of leafPaths) {
    const value = env[envName(path.join('.'))];
    if (value !== undefined && value !== '') setPath(fromEnv, path, value);
  }
  return merge(merge(raw, fromEnv), expand(overrides));
}

/** One ConfigError listing every issue as `key (--flag, RDS_CSI_KEY): message`; `under` prefixes the issue paths. */
export function invalidConfig(issues: readonly ConfigIssue[], under: readonly string[]): ConfigError {
  const problems = issues.map((i) => {
    const key = [...under, ...i.path.map(String)].join('.');
    return `${key ? describeKey(key) : '(root)'}: ${i.message}`;
  });
  return new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}
