import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeDirSafely } from '../../src/host/safe-remove';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { moduleListProbe, packageOf } from '../support/module-list';
import { spawnCli, type CliProcess } from '../support/processes';
import { freePort, startRedis, type TestRedis } from '../support/redis';

/**
 * Issue 14 item 5: the controller holds 10,000 volumes in <= 120 MiB, so it loads only what it runs. A real
 * `rds-csi controller` (dist/, Redis, the simulator over TCP) is started twice: without a dashboard credential it
 * must not have loaded the job dashboard (bull-board and its Express stack) nor the worker's processors and
 * reconcilers (no --with-worker); with a token file (the control) the dashboard's packages are there, so the probe
 * (test/support/module-list.ts) does see them when they are loaded.
 */
const DASHBOARD_PACKAGES: [string, string][] = [
  ['@bull-board/api', 'the dashboard'],
  ['@bull-board/express', "the dashboard's Express adapter"],
  ['express', "bull-board's server"],
  ['ejs', "bull-board's page template"],
  ['lodash', 'a bull-board dependency'],
  ['mime-db', "express's MIME table"],
  ['valibot', "bull-board's request validation"],
];

/** A controller without --with-worker runs no jobs: the worker's own folders stay unloaded. */
const WORKER_FOLDERS = ['workers', 'reconcile'];

/** What a controller does use: the list is not empty or truncated. */
const EXPECTED_PACKAGES = ['@grpc/grpc-js', 'bullmq', 'ioredis', 'node-routeros', 'pino', 'prom-client'];

interface Started {
  modules: string[];
  packages: Set<string>;
}

describe('the module graph of a started rds-csi controller', () => {
  let dir: string;
  let redis: TestRedis;
  let sim: RunningSimulator;
  const procs: CliProcess[] = [];
  const started: Record<'off' | 'on', Started> = { off: { modules: [], packages: new Set() }, on: { modules: [], packages: new Set() } };

  async function start(mode: 'off' | 'on'): Promise<Started> {
    const sub = path.join(dir, mode);
    mkdirSync(sub);
    const probe = moduleListProbe(sub);
    const args = [
      'controller',
      '--endpoint',
      `unix://${path.join(sub, 'csi.sock')}`,
      '--redis-url',
      redis.url,
      '--rds-address',
      `${sim.host}:${sim.port}`,
      '--log-level',
      'info',
    ];
    if (mode === 'on') {
      const token = path.join(sub, 'token');
      writeFileSync(token, 'a-dashboard-token-of-some-length\n', { mode: 0o600 });
      args.push('--dashboard-token-file', token, '--dashboard-listen', `127.0.0.1:${await freePort()}`);
    }
    const proc = await spawnCli(args, { ...probe.env, RDS_CSI_RDS_PASSWORD: 'secret' }, /"msg":"controller ready"/);
    procs.push(proc);
    const modules = await probe.read(proc.child.pid ?? 0);
    return { modules, packages: new Set(modules.map(packageOf).filter((p): p is string => p !== undefined)) };
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-controller-modules-'));
    redis = await startRedis();
    sim = await startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, 'rds'), password: 'secret' });
    started.off = await start('off');
    started.on = await start('on');
  }, 60000);

  afterAll(async () => {
    for (const p of procs) await p.kill();
    await sim?.close();
    await redis?.stop();
    if (dir) removeDirSafely(dir);
  });

  it.each(EXPECTED_PACKAGES)('loads %s (the probe sees the dependencies it uses)', (pkg) => {
    expect(started.off.packages).toContain(pkg);
  });

  it.each(DASHBOARD_PACKAGES)('without a dashboard credential, does not load %s (%s)', (pkg) => {
    expect(started.off.packages.has(pkg)).toBe(false);
    expect(started.off.modules.filter((f) => f.includes('/src/dashboard/dashboard.'))).toEqual([]);
  });

  it.each(DASHBOARD_PACKAGES)('with a dashboard token, loads %s (%s)', (pkg) => {
    expect(started.on.packages).toContain(pkg);
  });

  it.each(WORKER_FOLDERS)('without --with-worker, does not load anything under src/%s', (folder) => {
    const own = started.off.modules.filter((f) => packageOf(f) === undefined);
    expect(own.length).toBeGreaterThan(0);
    expect(own.filter((f) => f.includes(`/src/${folder}/`))).toEqual([]);
  });
});
