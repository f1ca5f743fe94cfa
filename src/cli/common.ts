import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError, loadConfig, type Overrides } from '../config/load';
import type { Config } from '../config/schema';
import { createLogger, type Logger } from '../log/logger';

/** Flags every server subcommand shares; each maps to one config key (RDS_CSI_* env vars feed the same keys). */
export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'YAML config file')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent')
    .option('--driver-name <name>', 'CSI driver name')
    .option('--redis-url <url>', 'Redis URL (redis://, rediss://)')
    .option('--redis-ca-file <file>', 'CA bundle (PEM) that signs the Redis server certificate (rediss://)')
    .option('--redis-sentinels <host:port,...>', 'reach Redis through these Sentinels (the URL then gives password/db/scheme)')
    .option('--redis-sentinel-name <name>', 'the master group name the Sentinels monitor')
    .option('--redis-wait-replicas <n>', 'replicas that must confirm each record write (Redis WAIT; 1 with Sentinel)')
    .option('--queue-prefix <prefix>', 'BullMQ/Redis key prefix')
    .option('--rds-address <host:port>', 'RouterOS API address of the RDS')
    .option('--rds-user <user>', 'RouterOS API user')
    .option('--rds-password-file <file>', 'file holding the RouterOS API password (or RDS_CSI_RDS_PASSWORD)')
    .option('--rds-tls', 'use api-ssl')
    .option('--rds-ca-file <file>', 'CA certificate to pin for api-ssl')
    .option('--rds-insecure-plaintext', 'allow the plain RouterOS API without TLS (the password crosses the network in clear)')
    .option('--rds-pool <name>', 'RDS pool (disk with a mounted filesystem)')
    .option('--rds-base-path <path>', 'directory on RDS for backing files')
    .option('--rds-backend <name>', 'name of this RDS in the topology segment <driver name>/backend (default: default)')
    .option('--nqn-prefix <nqn>', 'NQN prefix of exported volumes')
    .option('--kubeconfig <file>', 'talk to Kubernetes with this kubeconfig (in a pod: the service account)')
    .option('--kubernetes <mode>', 'auto|on|off')
    .option('--nodes <ids>', 'standalone mode: comma-separated node ids that exist')
    .option('--storage-side-fencing', "set each disk's allowed host NQNs to its attached nodes");
}

export interface CommonFlags {
  config?: string;
  logLevel?: string;
  driverName?: string;
  redisUrl?: string;
  redisCaFile?: string;
  redisSentinels?: string;
  redisSentinelName?: string;
  redisWaitReplicas?: string;
  queuePrefix?: string;
  rdsAddress?: string;
  rdsUser?: string;
  rdsPasswordFile?: string;
  rdsTls?: boolean;
  rdsCaFile?: string;
  rdsInsecurePlaintext?: boolean;
  rdsPool?: string;
  rdsBasePath?: string;
  rdsBackend?: string;
  nqnPrefix?: string;
  kubeconfig?: string;
  kubernetes?: string;
  nodes?: string;
  storageSideFencing?: boolean;
}

function splitAddress(addr: string): { host: string; port: string } {
  const i = addr.lastIndexOf(':');
  if (i <= 0) throw new ConfigError(`--rds-address ${addr}: expected HOST:PORT`);
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: addr.slice(i + 1) };
}

export function configFromFlags(f: CommonFlags, extra: Overrides = {}): Config {
  const o: Overrides = {
    logLevel: f.logLevel,
    driverName: f.driverName,
    redisUrl: f.redisUrl,
    'redis.caFile': f.redisCaFile,
    'redis.sentinels': f.redisSentinels,
    'redis.sentinelName': f.redisSentinelName,
    'redis.waitReplicas': f.redisWaitReplicas,
    queuePrefix: f.queuePrefix,
    nqnPrefix: f.nqnPrefix,
    'rds.user': f.rdsUser,
    'rds.tls': f.rdsTls,
    'rds.caFile': f.rdsCaFile,
    'rds.insecurePlaintext': f.rdsInsecurePlaintext,
    'rds.poolName': f.rdsPool,
    'rds.basePath': f.rdsBasePath,
    'rds.backend': f.rdsBackend,
    'kubernetes.kubeconfig': f.kubeconfig,
    'kubernetes.mode': f.kubernetes,
    nodes: f.nodes,
    'fencing.storageSide': f.storageSideFencing,
    ...extra,
  };
  if (f.rdsAddress) {
    const { host, port } = splitAddress(f.rdsAddress);
    o['rds.host'] = host;
    o['rds.port'] = port;
  }
  if (f.rdsPasswordFile) {
    try {
      o['rds.password'] = readFileSync(f.rdsPasswordFile, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`cannot read --rds-password-file ${f.rdsPasswordFile}: ${(err as Error).message}`);
    }
  }
  return loadConfig(o, process.env, f.config);
}

/** Runs a long-lived server until SIGTERM/SIGINT, then closes it cleanly. */
export function runUntilSignal(log: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    close().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err: err.message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export function loggerFor(cfg: Config, name: string): Logger {
  return createLogger(cfg.logLevel, name);
}
