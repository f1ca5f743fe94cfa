import { coercedInt, obj, oneOf, optional, str, withDefault, type Check } from './check';
import { nodeBackendsOf } from './node-backends';
import type { Overrides } from './options';
import type { Config, ConnectDefaults, NodeConfig, NodeOptions, NodeOptionsInput, RdsConfig, ShutdownConfig } from './schema';
import { invalidConfig, rawConfig, type ConfigIssue } from './sources';

/**
 * The configuration of `rds-csi node` without zod (issue 14 item 4): the node plugin runs on every host, and zod
 * alone is ~6 MiB of its RSS (bench part m). It reads exactly the keys below, from the same sources as loadConfig
 * (YAML file, RDS_CSI_* env, flags), with the same accepted inputs, defaults, coercions and error messages as the zod
 * schema (schema.ts), which stays the single source of truth: test/config/node-config.test.ts checks, on generated
 * valid and invalid inputs, that these validators and the schema accept and reject alike and give the same objects,
 * and that NODE_CONFIG_KEYS are the schema's leaf keys the node reads. Every other role uses loadConfig.
 */

/** What the node plugin reads of Config: its own `node:` block and the shared keys it uses. */
export type NodeRunConfig = Pick<Config, 'driverName' | 'nqnPrefix' | 'logLevel' | 'node'> & { rds: Pick<RdsConfig, 'basePath' | 'backend'> };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const nodeIdRules = {
  required: 'required to run the node plugin',
  min: 1,
  max: 128,
  regex: [/^[A-Za-z0-9._-]+$/, 'node id: letters, digits, ".", "_", "-"'],
} as const;
const absolute = (def: string): Check<string> => withDefault(str({ startsWith: '/' }), def);

const connect = obj({
  ctrlLossTmo: withDefault(coercedInt({ min: -1 }), -1),
  reconnectDelay: withDefault(coercedInt({ min: 1, max: 3600 }), 5),
  keepAliveTmo: withDefault(coercedInt({ min: 1, max: 3600 }), 15),
  fastIoFailTmo: optional(coercedInt({ min: -1, max: 3600 })),
}) satisfies Check<ConnectDefaults>;

/** schema.ts shutdownSchema (safe node shutdown, README "Node shutdown"). */
const SHUTDOWN_DEFAULTS: ShutdownConfig = {
  ctrlLossTmo: 10,
  dbusSend: 'dbus-send',
  systemBus: '/run/dbus/system_bus_socket',
  systemdPrivate: '/run/systemd/private',
  detectTimeoutMs: 3000,
};
const shutdown = obj({
  ctrlLossTmo: withDefault(coercedInt({ min: 0, max: 3600 }), SHUTDOWN_DEFAULTS.ctrlLossTmo),
  dbusSend: withDefault(str({ min: 1 }), SHUTDOWN_DEFAULTS.dbusSend),
  systemBus: absolute(SHUTDOWN_DEFAULTS.systemBus),
  systemdPrivate: absolute(SHUTDOWN_DEFAULTS.systemdPrivate),
  detectTimeoutMs: withDefault(coercedInt({ min: 200, max: 30000 }), SHUTDOWN_DEFAULTS.detectTimeoutMs),
}) satisfies Check<ShutdownConfig>;

const nodeFields = {
  hostNqn: optional(str({ regex: [/^nqn\.\d{4}-\d{2}\.[^\s]{1,200}$/] })),
  maxVolumesPerNode: withDefault(coercedInt({ min: 0, max: 100000 }), 0),
  connector: withDefault(oneOf(['nvme-tcp', 'loop']), 'nvme-tcp'),
  loopDataDir: optional(str({ startsWith: '/' })),
  sysfsRoot: absolute('/sys'),
  devRoot: absolute('/dev'),
  mountInfoFile: absolute('/proc/self/mountinfo'),
  kubeletDir: absolute('/var/lib/kubelet'),
  nvmeCommand: withDefault(str({ min: 1 }), 'nvme'),
  toolTimeoutMs: withDefault(coercedInt({ positive: true }), 30000),
  formatTimeoutMs: withDefault(coercedInt({ positive: true }), 600000),
  luksIterTimeMs: optional(coercedInt({ positive: true })),
  deviceWaitMs: withDefault(coercedInt({ positive: true }), 20000),
  busyWaitMs: withDefault(coercedInt({ min: 0 }), 2000),
  orphanIntervalMs: withDefault(coercedInt({ min: 0 }), 300000),
  backends: withDefault(str(), ''),
  backendReachMs: withDefault(coercedInt({ min: 0, max: 60000 }), 1500),
  connect: withDefault(connect, { ctrlLossTmo: -1, reconnectDelay: 5, keepAliveTmo: 15 }),
  shutdown: withDefault(shutdown, SHUTDOWN_DEFAULTS),
};

/** schema.ts nodeSchema (the node id optional: `node:` as Config holds it). */
const nodeBlock = obj({ nodeId: optional(str(nodeIdRules)), ...nodeFields }) satisfies Check<NodeConfig>;

/** schema.ts nodeOptionsSchema: the node id required, and the loop connector's data dir. */
const nodeOptions = obj({ nodeId: str(nodeIdRules), ...nodeFields }) satisfies Check<NodeOptions>;

/** configSchema restricted to NodeRunConfig's keys. */
const nodeRunConfig = obj({
  driverName: withDefault(
    str({ regex: [/^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/, 'driver name must be a DNS-1123 subdomain of at most 63 characters'] }),
    'rds.csi.mikrotik.com',
  ),
  nqnPrefix: withDefault(str({ regex: [/^[a-z0-9][a-z0-9.:-]*$/] }), 'nqn.2026-11.com.mikrotik.rds-csi'),
  rds: withDefault(
    obj({
      basePath: withDefault(str({ regex: [/^\/[A-Za-z0-9._/-]+$/] }), '/pool/rds-csi'),
      backend: withDefault(
        str({
          max: 63,
          regex: [
            /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
            'backend must be a Kubernetes label value: letters, digits, "-", "_", ".", starting and ending with a letter or digit',
          ],
        }),
        'default',
      ),
    }),
    { basePath: '/pool/rds-csi', backend: 'default' },
  ),
  node: withDefault(nodeBlock, nodeBlock({}, [], [])),
  logLevel: withDefault(oneOf(LOG_LEVELS), 'info'),
}) satisfies Check<NodeRunConfig>;

/** The leaf keys of Config the node plugin reads (their RDS_CSI_* env variables are read), in the schema's order. */
export const NODE_CONFIG_KEYS: readonly (readonly string[])[] = [
  ['driverName'],
  ['nqnPrefix'],
  ['rds', 'basePath'],
  ['rds', 'backend'],
  ['node', 'nodeId'],
  ...Object.keys(nodeFields)
    .filter((k) => k !== 'connect' && k !== 'shutdown')
    .map((k) => ['node', k]),
  ...['ctrlLossTmo', 'reconnectDelay', 'keepAliveTmo', 'fastIoFailTmo'].map((k) => ['node', 'connect', k]),
  ...Object.keys(SHUTDOWN_DEFAULTS).map((k) => ['node', 'shutdown', k]),
  ['logLevel'],
];

/** The node plugin's config from the raw (merged, unvalidated) object: its issues, and the result when there are none. */
export function nodeConfigIssues(raw: unknown): { issues: ConfigIssue[]; value: NodeRunConfig } {
  const issues: ConfigIssue[] = [];
  return { value: nodeRunConfig(raw, [], issues), issues };
}

/**
 * nodeOptions without throwing: the issues and the result. The loop connector's data dir is checked (the schema's
 * refine) unless a type or option check failed, as zod does.
 */
export function nodeOptionsIssues(input: unknown): { issues: ConfigIssue[]; value: NodeOptions } {
  const issues: ConfigIssue[] = [];
  const value = nodeOptions(input, [], issues);
  if (!issues.some((i) => i.fatal) && value.connector === 'loop' && value.loopDataDir === undefined) {
    issues.push({ path: ['loopDataDir'], message: 'the loop connector needs loopDataDir' });
  }
  return { value, issues };
}

/** The node plugin's config (loadConfig's sources, NodeRunConfig's keys only). Throws ConfigError. */
export function loadNodeConfig(overrides: Overrides = {}, env: NodeJS.ProcessEnv = process.env, file?: string): NodeRunConfig {
  const { value, issues } = nodeConfigIssues(rawConfig(NODE_CONFIG_KEYS, overrides, env, file));
  if (issues.length) throw invalidConfig(issues, []);
  nodeBackendsOf(value.node.backends, value.rds.backend); // entries, names, ports: a ConfigError before anything starts
  return value;
}

/** parseNodeOptions (load.ts) without zod: the `node:` block with the node id required. Throws ConfigError. */
export function checkNodeOptions(input: NodeOptionsInput | NodeConfig): NodeOptions {
  const { value, issues } = nodeOptionsIssues(input);
  if (issues.length) throw invalidConfig(issues, ['node']);
  return value;
}
