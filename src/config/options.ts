import { readFileSync } from 'node:fs';
import { type Command, Help, Option } from 'commander';
import { ConfigError } from './error';

/**
 * Every command-line flag that feeds the config, declared once: its flag, the config key(s) it sets (the key path in
 * the YAML file; the RDS_CSI_* env name follows from it, see envName), the subcommands that take it and its help.
 * Defaults live in the schema (schema.ts) and are shown in the help from there. Flags that are not config (a
 * command's endpoint, --json, --limit) stay with their command.
 */

/** Dotted key paths ("rds.host") or nested objects; undefined values are ignored. */
export type Overrides = Record<string, unknown>;

/** The subcommands that take config flags (`ops` = doctor controller, jobs, volumes, orphans). */
export type ConfigCommand = 'controller' | 'worker' | 'node' | 'all-in-one' | 'ops' | 'doctor-node';

export interface ConfigOption {
  /** commander syntax: `--name <value>`, or `--name` for a switch (sets true). */
  flag: string;
  /** Config keys the flag sets, as YAML key paths. One, except --rds-address (host and port). */
  keys: readonly [string, ...string[]];
  description: string;
  on: readonly ConfigCommand[];
  /** The keys' values when they are not the flag's value itself (key 0). */
  toConfig?: (value: string | boolean) => Overrides;
}

const SERVERS: readonly ConfigCommand[] = ['controller', 'worker', 'node', 'all-in-one', 'ops'];
const NODE: readonly ConfigCommand[] = ['node', 'doctor-node'];

function splitAddress(value: string | boolean): Overrides {
  const addr = String(value);
  const i = addr.lastIndexOf(':');
  if (i <= 0) throw new ConfigError(`--rds-address ${addr}: expected HOST:PORT`);
  return { 'rds.host': addr.slice(0, i).replace(/^\[|\]$/g, ''), 'rds.port': addr.slice(i + 1) };
}

function passwordFromFile(value: string | boolean): Overrides {
  const file = String(value);
  try {
    return { 'rds.password': readFileSync(file, 'utf8').trim() };
  } catch (err) {
    throw new ConfigError(`cannot read --rds-password-file ${file}: ${(err as Error).message}`);
  }
}

export const CONFIG_OPTIONS: readonly ConfigOption[] = [
  { flag: '--log-level <level>', keys: ['logLevel'], on: SERVERS, description: 'fatal|error|warn|info|debug|trace|silent' },
  { flag: '--driver-name <name>', keys: ['driverName'], on: SERVERS, description: 'CSI driver name' },
  { flag: '--redis-url <url>', keys: ['redisUrl'], on: SERVERS, description: 'Redis URL (redis://, rediss://)' },
  {
    flag: '--redis-ca-file <file>',
    keys: ['redis.caFile'],
    on: SERVERS,
    description: 'CA bundle (PEM) that signs the Redis server certificate (rediss://)',
  },
  {
    flag: '--redis-sentinels <host:port,...>',
    keys: ['redis.sentinels'],
    on: SERVERS,
    description: 'reach Redis through these Sentinels (the URL then gives password/db/scheme)',
  },
  { flag: '--redis-sentinel-name <name>', keys: ['redis.sentinelName'], on: SERVERS, description: 'the master group name the Sentinels monitor' },
  {
    flag: '--redis-wait-replicas <n>',
    keys: ['redis.waitReplicas'],
    on: SERVERS,
    description: 'replicas that must confirm each record write (Redis WAIT; 1 with Sentinel)',
  },
  { flag: '--queue-prefix <prefix>', keys: ['queuePrefix'], on: SERVERS, description: 'BullMQ/Redis key prefix' },
  {
    flag: '--rds-address <host:port>',
    keys: ['rds.host', 'rds.port'],
    on: SERVERS,
    description: 'RouterOS API address of the RDS',
    toConfig: splitAddress,
  },
  { flag: '--rds-user <user>', keys: ['rds.user'], on: SERVERS, description: 'RouterOS API user' },
  {
    flag: '--rds-password-file <file>',
    keys: ['rds.password'],
    on: SERVERS,
    description: 'file holding the RouterOS API password (the env variable holds the password itself)',
    toConfig: passwordFromFile,
  },
  { flag: '--rds-tls', keys: ['rds.tls'], on: SERVERS, description: 'use api-ssl' },
  { flag: '--rds-ca-file <file>', keys: ['rds.caFile'], on: SERVERS, description: 'CA certificate to pin for api-ssl' },
  {
    flag: '--rds-insecure-plaintext',
    keys: ['rds.insecurePlaintext'],
    on: SERVERS,
    description: 'allow the plain RouterOS API without TLS (the password crosses the network in clear)',
  },
  { flag: '--rds-pool <name>', keys: ['rds.poolName'], on: SERVERS, description: 'RDS pool (disk with a mounted filesystem)' },
  { flag: '--rds-base-path <path>', keys: ['rds.basePath'], on: SERVERS, description: 'directory on RDS for backing files' },
  { flag: '--rds-backend <name>', keys: ['rds.backend'], on: SERVERS, description: 'name of this RDS in the topology segment <driver name>/backend' },
  { flag: '--nqn-prefix <nqn>', keys: ['nqnPrefix'], on: SERVERS, description: 'NQN prefix of exported volumes' },
  {
    flag: '--cluster-id <id>',
    keys: ['clusterId'],
    on: SERVERS,
    description: "this cluster's id in each disk's ownership comment (default: kube-system namespace UID, or `standalone`)",
  },
  {
    flag: '--health-pool-full-percent <n>',
    keys: ['health.poolFullPercent'],
    on: ['controller', 'all-in-one'],
    description: 'volume condition abnormal when the pool is at least this full (default 95)',
  },
  {
    flag: '--kubeconfig <file>',
    keys: ['kubernetes.kubeconfig'],
    on: SERVERS,
    description: 'talk to Kubernetes with this kubeconfig (in a pod: the service account)',
  },
  { flag: '--kubernetes <mode>', keys: ['kubernetes.mode'], on: SERVERS, description: 'auto|on|off' },
  { flag: '--nodes <ids>', keys: ['nodes'], on: SERVERS, description: 'standalone mode: comma-separated node ids that exist' },
  {
    flag: '--storage-side-fencing',
    keys: ['fencing.storageSide'],
    on: SERVERS,
    description: "set each disk's allowed host NQNs to its attached nodes",
  },

  // The job dashboard of `rds-csi controller` (src/dashboard/).
  {
    flag: '--dashboard-basic-auth-file <file>',
    keys: ['dashboard.basicAuthFile'],
    on: ['controller'],
    description: 'job dashboard (/dashboard on --dashboard-listen) with basic auth; file holds "user:password"',
  },
  {
    flag: '--dashboard-basic-auth-user-file <file>',
    keys: ['dashboard.basicAuthUserFile'],
    on: ['controller'],
    description: 'job dashboard basic auth: file holding the user (with --dashboard-basic-auth-password-file)',
  },
  {
    flag: '--dashboard-basic-auth-password-file <file>',
    keys: ['dashboard.basicAuthPasswordFile'],
    on: ['controller'],
    description: 'job dashboard basic auth: file holding the password',
  },
  {
    flag: '--dashboard-token-file <file>',
    keys: ['dashboard.tokenFile'],
    on: ['controller'],
    description: 'job dashboard (/dashboard on --dashboard-listen) with a bearer token read from this file',
  },
  {
    flag: '--dashboard-read-write',
    keys: ['dashboard.readOnly'],
    on: ['controller'],
    description: 'let the dashboard retry failed jobs, clean, promote, pause and resume (default: read-only); nothing else',
    toConfig: () => ({ 'dashboard.readOnly': false }),
  },
  {
    flag: '--dashboard-listen <host:port>',
    keys: ['dashboard.listen'],
    on: ['controller'],
    description: "address of the job dashboard's own HTTP server (never the metrics port)",
  },
  {
    flag: '--dashboard-insecure-no-auth',
    keys: ['dashboard.insecureNoAuth'],
    on: ['controller'],
    description: 'DANGEROUS: serve the job dashboard with NO authentication when no credential is configured',
  },

  { flag: '--concurrency <n>', keys: ['worker.concurrency'], on: ['worker'], description: 'jobs at once' },

  // The node plugin (`rds-csi node`; `doctor node` takes the same).
  { flag: '--node-id <id>', keys: ['node.nodeId'], on: NODE, description: 'this node (the Kubernetes node name); required' },
  { flag: '--hostnqn <nqn>', keys: ['node.hostNqn'], on: NODE, description: 'host NQN for nvme connect (default: derived from the node id)' },
  { flag: '--max-volumes-per-node <n>', keys: ['node.maxVolumesPerNode'], on: NODE, description: 'reported in NodeGetInfo (0 = no limit)' },
  { flag: '--connector <kind>', keys: ['node.connector'], on: NODE, description: 'nvme-tcp (production) or loop (all-in-one, tests)' },
  { flag: '--loop-data-dir <dir>', keys: ['node.loopDataDir'], on: NODE, description: 'loop connector: the simulator data dir' },
  { flag: '--sysfs-root <dir>', keys: ['node.sysfsRoot'], on: NODE, description: 'sysfs root (tests)' },
  { flag: '--dev-root <dir>', keys: ['node.devRoot'], on: NODE, description: '/dev root (tests)' },
  {
    flag: '--kubelet-dir <dir>',
    keys: ['node.kubeletDir'],
    on: [...NODE, 'all-in-one'],
    description: "kubelet's root dir; every staging and target path must lie under it",
  },
  {
    flag: '--backends <name=host:port,...>',
    keys: ['node.backends'],
    on: NODE,
    description:
      "the NVMe/TCP address of each RDS backend this node may use (names as rds.backend and backends[].name); NodeGetInfo reports those whose port answers at start-up and NodeStage refuses the others' volumes; empty: rds.backend only, no check",
  },
  {
    flag: '--backend-reach-ms <ms>',
    keys: ['node.backendReachMs'],
    on: NODE,
    description: "bound of each backend's start-up TCP connect check (0 = no check: report every listed backend)",
  },
  { flag: '--ctrl-loss-tmo <s>', keys: ['node.connect.ctrlLossTmo'], on: NODE, description: 'default ctrl_loss_tmo (-1 = reconnect forever)' },
  { flag: '--reconnect-delay <s>', keys: ['node.connect.reconnectDelay'], on: NODE, description: 'default reconnect_delay' },
  { flag: '--keep-alive-tmo <s>', keys: ['node.connect.keepAliveTmo'], on: NODE, description: 'default keep_alive_tmo' },
  { flag: '--fast-io-fail-tmo <s>', keys: ['node.connect.fastIoFailTmo'], on: NODE, description: 'default fast_io_fail_tmo' },
  {
    flag: '--shutdown-ctrl-loss-tmo <s>',
    keys: ['node.shutdown.ctrlLossTmo'],
    on: NODE,
    description: 'on a node shutdown: ctrl_loss_tmo of the managed controllers (seconds; the bound of the shutdown)',
  },
];

/** rds.password → RDS_CSI_RDS_PASSWORD, worker.concurrency → RDS_CSI_WORKER_CONCURRENCY, redisUrl → RDS_CSI_REDIS_URL. */
export function envName(key: string): string {
  return (
    'RDS_CSI_' +
    key
      .split('.')
      .map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
      .join('_')
  );
}

/** The commander option of a declaration; its attributeName() is where commander puts the value. */
const commanderOption = (o: ConfigOption): Option => new Option(o.flag, o.description);

export function optionsOf(command: ConfigCommand): ConfigOption[] {
  return CONFIG_OPTIONS.filter((o) => o.on.includes(command));
}

/** The flag that sets a config key, if any. */
export function flagOf(key: string): string | undefined {
  const o = CONFIG_OPTIONS.find((c) => c.keys.includes(key));
  return o ? commanderOption(o).long : undefined;
}

/** `key (--flag, RDS_CSI_KEY)`: how an operator finds the setting an error message is about. */
export function describeKey(key: string): string {
  const flag = flagOf(key);
  return `${key} (${flag ? `${flag}, ` : ''}${envName(key)})`;
}

let defaults: unknown;
/**
 * A key's default from the schema, loaded only when help is shown: `rds-csi node` must not load zod (issue 14 item 4;
 * src/config/node-config.ts).
 */
function defaultOf(key: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load, only for help text
  defaults ??= (require('./schema') as typeof import('./schema')).configSchema.parse({});
  let v = defaults;
  for (const k of key.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function helpOf(o: ConfigOption): string {
  const env = o.keys.map(envName).join(' + ');
  const def = o.toConfig ? undefined : defaultOf(o.keys[0]);
  const shown = def === undefined || (Array.isArray(def) && def.length === 0) || def === '' ? '' : `, default ${JSON.stringify(def)}`;
  return `${o.description} [env ${env}${shown}]`;
}

/**
 * Adds `--config <file>` and the config flags `command` takes. Their help text (env name, the schema's default) is
 * built when help is shown, not when the command is set up.
 */
export function addConfigOptions(cmd: Command, command: ConfigCommand): Command {
  cmd.option('--config <file>', 'YAML config file (keys as in the config schema; env and flags win over it)');
  const declared = new Map<Option, ConfigOption>();
  for (const o of optionsOf(command)) {
    const option = new Option(o.flag, o.description);
    declared.set(option, o);
    cmd.addOption(option);
  }
  return cmd.configureHelp({
    optionDescription(option: Option): string {
      const o = declared.get(option);
      return o ? helpOf(o) : Help.prototype.optionDescription.call(this, option);
    },
  });
}

/** What the parsed flags of `command` set: absent flags set nothing, so env and file values stay. */
export function configOverrides(command: ConfigCommand, flags: object): Overrides {
  const values = flags as Record<string, unknown>;
  const out: Overrides = {};
  for (const o of optionsOf(command)) {
    const v = values[commanderOption(o).attributeName()];
    if (typeof v !== 'string' && typeof v !== 'boolean') continue;
    Object.assign(out, o.toConfig ? o.toConfig(v) : { [o.keys[0]]: v });
  }
  return out;
}
