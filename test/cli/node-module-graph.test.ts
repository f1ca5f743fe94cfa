import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeDirSafely } from '../../src/host/safe-remove';
import { moduleListProbe, packageOf } from '../support/module-list';
import { spawnCli, type CliProcess } from '../support/processes';

/**
 * Issue 14 item 4: the node plugin runs on every host, so it loads only what the node uses. A real `rds-csi node`
 * (dist/, loop connector) is started and, once ready, asked for its loaded modules by a test-only preload
 * (test/support/module-list.ts); none of the controller's or worker's packages or source folders may be among them.
 */
const FORBIDDEN_PACKAGES: [string, string][] = [
  ['bullmq', 'the job queue (controller, worker)'],
  ['ioredis', 'Redis (controller, worker, operator commands)'],
  ['msgpackr', "BullMQ's job encoding"],
  ['node-routeros', 'the RouterOS API (worker)'],
  ['@kubernetes/client-node', 'the Kubernetes client (controller)'],
  ['cron-parser', "BullMQ's repeatable jobs"],
  ['luxon', "cron-parser's dates"],
  ['yaml', 'the --config file parser (only when --config is given)'],
  ['@grpc/proto-loader', 'the .proto parser: the node builds its two services from proto/csi-identity-node.json (src/grpc/csi-services.ts)'],
  ['zod', 'the config schema: the node validates its keys with src/config/node-config.ts, checked equal to the schema'],
];

const FORBIDDEN_FOLDERS = ['queue', 'rds', 'state', 'workers', 'reconcile', 'cluster', 'dashboard', 'api', 'simulator', 'demo'];

/** What the node does use: the list is not empty or truncated, and the probe sees dependencies at all. */
const EXPECTED_PACKAGES = ['@grpc/grpc-js', 'protobufjs', 'pino', 'prom-client', 'commander'];

describe('the module graph of a started rds-csi node', () => {
  let dir: string;
  let node: CliProcess | undefined;
  let modules: string[] = [];
  let packages = new Set<string>();

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-node-modules-'));
    mkdirSync(path.join(dir, 'data'));
    const probe = moduleListProbe(dir);
    node = await spawnCli(
      [
        'node',
        '--endpoint',
        `unix://${path.join(dir, 'csi.sock')}`,
        '--node-id',
        'node-modules',
        '--connector',
        'loop',
        '--loop-data-dir',
        path.join(dir, 'data'),
        '--kubelet-dir',
        dir,
        '--log-level',
        'info',
        // node.backends (issue 16): the start-up reachability check runs (port 1 on loopback refuses at once)
        '--backends',
        'default=127.0.0.1:1',
        '--backend-reach-ms',
        '500',
      ],
      probe.env,
      /"msg":"node ready"/,
    );
    modules = await probe.read(node.child.pid ?? 0);
    packages = new Set(modules.map(packageOf).filter((p): p is string => p !== undefined));
  });

  afterAll(async () => {
    await node?.kill();
    if (dir) removeDirSafely(dir);
  });

  it.each(EXPECTED_PACKAGES)('loads %s (the probe sees the dependencies it uses)', (pkg) => {
    expect(packages).toContain(pkg);
  });

  it.each(FORBIDDEN_PACKAGES)('does not load %s (%s)', (pkg) => {
    expect([...packages].filter((p) => p === pkg || p.startsWith(`${pkg}/`))).toEqual([]);
  });

  it('ran the node.backends reachability check (src/node/backend-reach.ts is in the graph)', () => {
    expect(modules.filter((f) => /\/src\/(node\/backend-reach|config\/node-backends)\.js$/.test(f))).toHaveLength(2);
  });

  it.each(FORBIDDEN_FOLDERS)('does not load anything under src/%s', (folder) => {
    const own = modules.filter((f) => packageOf(f) === undefined);
    expect(own.length).toBeGreaterThan(0);
    expect(own.filter((f) => f.includes(`/src/${folder}/`))).toEqual([]);
  });
});
