import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import { ConfigError, configEnvNames, loadConfig, parseNodeOptions } from '../../src/config/load';
import { addConfigOptions, CONFIG_OPTIONS, configOverrides, envName, type ConfigCommand, type ConfigOption } from '../../src/config/options';
import type { Config } from '../../src/config/schema';

/**
 * Every flag declared in src/config/options.ts reaches its config key the same way by flag, by RDS_CSI_* env and by
 * the YAML file, on every subcommand that declares it; a bad value names the key, the flag and the env variable.
 */

const dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const passwordFile = path.join(dir, 'rds-password');
writeFileSync(passwordFile, 'pw\n');

/** Per flag: its argument (undefined = a switch) and what the config then holds. */
const SAMPLES: Record<string, { arg?: string; expect: Record<string, unknown> }> = {
  '--log-level': { arg: 'debug', expect: { logLevel: 'debug' } },
  '--driver-name': { arg: 'csi.example.com', expect: { driverName: 'csi.example.com' } },
  '--redis-url': { arg: 'redis://r:6380', expect: { redisUrl: 'redis://r:6380' } },
  '--redis-ca-file': { arg: '/ca/redis.pem', expect: { 'redis.caFile': '/ca/redis.pem' } },
  '--redis-sentinels': { arg: 's1:26379,s2:26379', expect: { 'redis.sentinels': 's1:26379,s2:26379' } },
  '--redis-sentinel-name': { arg: 'mymaster', expect: { 'redis.sentinelName': 'mymaster' } },
  '--redis-wait-replicas': { arg: '1', expect: { 'redis.waitReplicas': 1 } },
  '--queue-prefix': { arg: '{rds}', expect: { queuePrefix: '{rds}' } },
  '--rds-address': { arg: '10.0.0.1:8729', expect: { 'rds.host': '10.0.0.1', 'rds.port': 8729 } },
  '--rds-user': { arg: 'csi', expect: { 'rds.user': 'csi' } },
  '--rds-password-file': { arg: passwordFile, expect: { 'rds.password': 'pw' } },
  '--rds-tls': { expect: { 'rds.tls': true } },
  '--rds-ca-file': { arg: '/ca/rds.pem', expect: { 'rds.caFile': '/ca/rds.pem' } },
  '--rds-insecure-plaintext': { expect: { 'rds.insecurePlaintext': true } },
  '--rds-pool': { arg: 'pool2', expect: { 'rds.poolName': 'pool2' } },
  '--rds-base-path': { arg: '/pool2/csi', expect: { 'rds.basePath': '/pool2/csi' } },
  '--rds-backend': { arg: 'rack-1', expect: { 'rds.backend': 'rack-1' } },
  '--nqn-prefix': { arg: 'nqn.2027-01.com.example', expect: { nqnPrefix: 'nqn.2027-01.com.example' } },
  '--cluster-id': { arg: 'prod-eu-1', expect: { clusterId: 'prod-eu-1' } },
  '--health-pool-full-percent': { arg: '90', expect: { 'health.poolFullPercent': 90 } },
  '--kubeconfig': { arg: '/kube/config', expect: { 'kubernetes.kubeconfig': '/kube/config' } },
  '--kubernetes': { arg: 'off', expect: { 'kubernetes.mode': 'off' } },
  '--nodes': { arg: 'a,b', expect: { nodes: ['a', 'b'] } },
  '--storage-side-fencing': { expect: { 'fencing.storageSide': true } },
  '--dashboard-basic-auth-file': { arg: '/d/basic', expect: { 'dashboard.basicAuthFile': '/d/basic' } },
  '--dashboard-basic-auth-user-file': { arg: '/d/user', expect: { 'dashboard.basicAuthUserFile': '/d/user' } },
  '--dashboard-basic-auth-password-file': { arg: '/d/password', expect: { 'dashboard.basicAuthPasswordFile': '/d/password' } },
  '--dashboard-token-file': { arg: '/d/token', expect: { 'dashboard.tokenFile': '/d/token' } },
  '--dashboard-read-write': { expect: { 'dashboard.readOnly': false } },
  '--dashboard-listen': { arg: '0.0.0.0:9900', expect: { 'dashboard.listen': '0.0.0.0:9900' } },
  '--dashboard-insecure-no-auth': { expect: { 'dashboard.insecureNoAuth': true } },
  '--concurrency': { arg: '4', expect: { 'worker.concurrency': 4 } },
  '--node-id': { arg: 'node-1', expect: { 'node.nodeId': 'node-1' } },
  '--hostnqn': { arg: 'nqn.2014-08.org.nvmexpress:uuid:abc', expect: { 'node.hostNqn': 'nqn.2014-08.org.nvmexpress:uuid:abc' } },
  '--max-volumes-per-node': { arg: '7', expect: { 'node.maxVolumesPerNode': 7 } },
  '--connector': { arg: 'loop', expect: { 'node.connector': 'loop' } },
  '--loop-data-dir': { arg: '/data/sim', expect: { 'node.loopDataDir': '/data/sim' } },
  '--sysfs-root': { arg: '/fake/sys', expect: { 'node.sysfsRoot': '/fake/sys' } },
  '--dev-root': { arg: '/fake/dev', expect: { 'node.devRoot': '/fake/dev' } },
  '--kubelet-dir': { arg: '/var/lib/k0s/kubelet', expect: { 'node.kubeletDir': '/var/lib/k0s/kubelet' } },
  '--backends': { arg: 'default=10.0.0.1:4420,rack-b=10.0.1.1:4420', expect: { 'node.backends': 'default=10.0.0.1:4420,rack-b=10.0.1.1:4420' } },
  '--backend-reach-ms': { arg: '300', expect: { 'node.backendReachMs': 300 } },
  '--ctrl-loss-tmo': { arg: '600', expect: { 'node.connect.ctrlLossTmo': 600 } },
  '--shutdown-ctrl-loss-tmo': { arg: '30', expect: { 'node.shutdown.ctrlLossTmo': 30 } },
  '--reconnect-delay': { arg: '2', expect: { 'node.connect.reconnectDelay': 2 } },
  '--keep-alive-tmo': { arg: '7', expect: { 'node.connect.keepAliveTmo': 7 } },
  '--fast-io-fail-tmo': { arg: '30', expect: { 'node.connect.fastIoFailTmo': 30 } },
};

/**
 * Per flag: a value the schema refuses from every source (a switch's value only via env and YAML), with the key the
 * error must name; null = free text (a file path, a user name) that has no invalid value short of the empty string.
 */
const BAD: Record<string, { value: string; key: string } | null> = {
  '--log-level': { value: 'loud', key: 'logLevel' },
  '--driver-name': { value: 'Bad_Name', key: 'driverName' },
  '--redis-url': { value: 'not a url', key: 'redisUrl' },
  '--redis-ca-file': null,
  '--redis-sentinels': null,
  '--redis-sentinel-name': null,
  '--redis-wait-replicas': { value: '99', key: 'redis.waitReplicas' },
  '--queue-prefix': null,
  '--rds-address': { value: '10.0.0.1:99999', key: 'rds.port' },
  '--rds-user': null,
  '--rds-password-file': null,
  '--rds-tls': { value: 'maybe', key: 'rds.tls' },
  '--rds-ca-file': null,
  '--rds-insecure-plaintext': { value: 'maybe', key: 'rds.insecurePlaintext' },
  '--rds-pool': { value: 'bad pool!', key: 'rds.poolName' },
  '--rds-base-path': { value: 'relative/path', key: 'rds.basePath' },
  '--rds-backend': { value: '-edge-', key: 'rds.backend' },
  '--nqn-prefix': { value: 'NQN!', key: 'nqnPrefix' },
  '--cluster-id': { value: 'Prod EU', key: 'clusterId' },
  '--health-pool-full-percent': { value: '101', key: 'health.poolFullPercent' },
  '--kubeconfig': null,
  '--kubernetes': { value: 'maybe', key: 'kubernetes.mode' },
  '--nodes': null,
  '--storage-side-fencing': { value: 'perhaps', key: 'fencing.storageSide' },
  '--dashboard-basic-auth-file': null,
  '--dashboard-basic-auth-user-file': null,
  '--dashboard-basic-auth-password-file': null,
  '--dashboard-token-file': null,
  '--dashboard-read-write': { value: 'perhaps', key: 'dashboard.readOnly' },
  '--dashboard-listen': { value: 'localhost', key: 'dashboard.listen' },
  '--dashboard-insecure-no-auth': { value: 'perhaps', key: 'dashboard.insecureNoAuth' },
  '--concurrency': { value: '0', key: 'worker.concurrency' },
  '--node-id': { value: 'bad id', key: 'node.nodeId' },
  '--hostnqn': { value: 'not-an-nqn', key: 'node.hostNqn' },
  '--max-volumes-per-node': { value: 'many', key: 'node.maxVolumesPerNode' },
  '--connector': { value: 'fc', key: 'node.connector' },
  '--loop-data-dir': { value: 'relative', key: 'node.loopDataDir' },
  '--sysfs-root': { value: 'sys', key: 'node.sysfsRoot' },
  '--dev-root': { value: 'dev', key: 'node.devRoot' },
  '--kubelet-dir': { value: 'var/lib/kubelet', key: 'node.kubeletDir' },
  '--backends': null, // a string to the schema; its entries are checked by the node (test/config/node-backends.test.ts)
  '--backend-reach-ms': { value: '-1', key: 'node.backendReachMs' },
  '--ctrl-loss-tmo': { value: '-5', key: 'node.connect.ctrlLossTmo' },
  '--shutdown-ctrl-loss-tmo': { value: '-1', key: 'node.shutdown.ctrlLossTmo' },
  '--reconnect-delay': { value: '0', key: 'node.connect.reconnectDelay' },
  '--keep-alive-tmo': { value: '99999', key: 'node.connect.keepAliveTmo' },
  '--fast-io-fail-tmo': { value: 'soon', key: 'node.connect.fastIoFailTmo' },
};

const longOf = (o: ConfigOption): string => new Option(o.flag).long ?? o.flag;
const isSwitch = (o: ConfigOption): boolean => !/[<[]/.test(o.flag);

function at(cfg: Config, key: string): unknown {
  let v: unknown = cfg;
  for (const k of key.split('.')) v = (v as Record<string, unknown>)[k];
  return v;
}

function nest(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const parts = key.split('.');
    let node = out;
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]] = value;
  }
  return out;
}

const envText = (v: unknown): string => (Array.isArray(v) ? v.join(',') : String(v));

function viaFlags(command: ConfigCommand, args: string[]): Config {
  const cmd = addConfigOptions(new Command(command), command).exitOverride();
  cmd.parse(args, { from: 'user' });
  return loadConfig(configOverrides(command, cmd.opts()), {});
}

function viaYaml(values: Record<string, unknown>): Config {
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, stringify(nest(values)));
  return loadConfig({}, {}, file);
}

const table = CONFIG_OPTIONS.map((o) => [longOf(o), o] as const);

describe('config options: one declaration per flag, reachable by flag, env and YAML', () => {
  it('has a sample and a bad-value decision for every declared flag, and declares each flag and key once', () => {
    const flags = CONFIG_OPTIONS.map(longOf);
    expect(new Set(flags).size).toBe(flags.length);
    expect(Object.keys(SAMPLES).sort()).toEqual([...flags].sort());
    expect(Object.keys(BAD).sort()).toEqual([...flags].sort());
    const keys = CONFIG_OPTIONS.flatMap((o) => o.keys);
    expect(new Set(keys).size).toBe(keys.length);
    // Every key is a leaf of the schema, so it has an env name the loader reads.
    expect(configEnvNames()).toEqual(expect.arrayContaining(keys.map(envName)));
  });

  it.each(table)('%s reaches its key by flag on every subcommand that declares it', (flag, o) => {
    const s = SAMPLES[flag];
    for (const command of o.on) {
      const cfg = viaFlags(command, s.arg === undefined ? [flag] : [flag, s.arg]);
      for (const [key, value] of Object.entries(s.expect)) expect([command, key, at(cfg, key)]).toEqual([command, key, value]);
    }
  });

  it.each(table)('%s: its key is reached by RDS_CSI_* env and by the YAML file alike', (flag) => {
    const s = SAMPLES[flag];
    const env = Object.fromEntries(Object.entries(s.expect).map(([key, value]) => [envName(key), envText(value)]));
    const fromEnv = loadConfig({}, env);
    const fromYaml = viaYaml(s.expect);
    for (const [key, value] of Object.entries(s.expect)) {
      expect(at(fromEnv, key)).toEqual(value);
      expect(at(fromYaml, key)).toEqual(value);
    }
  });

  it.each(table.filter(([flag]) => BAD[flag] !== null))('%s: a bad value is a ConfigError naming the key, the flag and the env name', (flag, o) => {
    const bad = BAD[flag]!;
    const named = `${bad.key} (${flag}, ${envName(bad.key)})`;
    const attempts: Array<() => unknown> = [() => loadConfig({}, { [envName(bad.key)]: bad.value }), () => viaYaml({ [bad.key]: bad.value })];
    if (!isSwitch(o)) attempts.push(() => viaFlags(o.on[0], [flag, bad.value]));
    for (const attempt of attempts) {
      expect(attempt).toThrow(ConfigError);
      expect(attempt).toThrow(named);
    }
  });

  it('the node block: node options come from the same config, the node id is required only to run the node', () => {
    expect(loadConfig({}, {}).node).toMatchObject({
      kubeletDir: '/var/lib/kubelet',
      connector: 'nvme-tcp',
      connect: { ctrlLossTmo: -1, reconnectDelay: 5, keepAliveTmo: 15 },
    });
    expect(() => parseNodeOptions(loadConfig({}, {}).node)).toThrow('node.nodeId (--node-id, RDS_CSI_NODE_NODE_ID)');
    expect(() => parseNodeOptions(loadConfig({}, { RDS_CSI_NODE_NODE_ID: 'n1', RDS_CSI_NODE_CONNECTOR: 'loop' }).node)).toThrow(
      'node.loopDataDir (--loop-data-dir, RDS_CSI_NODE_LOOP_DATA_DIR): the loop connector needs loopDataDir',
    );
    // Precedence as for every key: YAML < env < flag.
    const file = path.join(dir, 'node.yaml');
    writeFileSync(file, stringify({ node: { nodeId: 'from-yaml', kubeletDir: '/yaml', busyWaitMs: 50 } }));
    const cfg = loadConfig({ 'node.kubeletDir': '/flag' }, { RDS_CSI_NODE_NODE_ID: 'from-env', RDS_CSI_NODE_KUBELET_DIR: '/env' }, file);
    expect(parseNodeOptions(cfg.node)).toMatchObject({ nodeId: 'from-env', kubeletDir: '/flag', busyWaitMs: 50 });
  });
});

describe('config options in --help', () => {
  // The env name and the schema's default are added when help is shown (the schema is loaded only then, so that
  // `rds-csi node` does not load zod): every config flag still shows both.
  it.each(['node', 'controller', 'worker'] as const)('rds-csi %s --help names each flag with its env variable and default', (command) => {
    const help = addConfigOptions(new Command(command), command).helpInformation().replace(/\s+/g, ' ');
    expect(help).toContain('[env RDS_CSI_LOG_LEVEL, default "info"]');
    expect(help).toContain('--config <file>');
    for (const o of CONFIG_OPTIONS.filter((c) => c.on.includes(command))) expect(help).toContain(`env ${o.keys.map(envName).join(' + ')}`);
  });

  it('shows the node defaults from the schema', () => {
    const help = addConfigOptions(new Command('node'), 'node').helpInformation().replace(/\s+/g, ' ');
    expect(help).toContain('[env RDS_CSI_NODE_KUBELET_DIR, default "/var/lib/kubelet"]');
    expect(help).toContain('[env RDS_CSI_NODE_CONNECT_CTRL_LOSS_TMO, default -1]');
    // node.backends (issue 16): the reachability check's flags
    expect(help).toContain('--backends <name=host:port,...>');
    expect(help).toContain('[env RDS_CSI_NODE_BACKENDS]');
    expect(help).toContain('--backend-reach-ms <ms>');
    expect(help).toContain('[env RDS_CSI_NODE_BACKEND_REACH_MS, default 1500]');
  });
});
