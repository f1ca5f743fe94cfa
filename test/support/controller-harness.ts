import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Overrides } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { createLogger } from '../../src/log/logger';
import { startController, type ControllerApp } from '../../src/runtime/controller-app';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator';
import { CsiClient } from './csi-client';
import { startRedis, type TestRedis } from './redis';
import { removeDirSafely } from '../../src/host/safe-remove';

/**
 * One controller stack for integration tests: a private redis-server, the RouterOS simulator over TCP with real
 * files in a temp dir, and the controller (with an in-process worker unless told otherwise) on a unix socket.
 */
export interface Harness {
  redis: TestRedis;
  sim: RunningSimulator;
  cfg: Config;
  dir: string;
  endpoint: string;
  controller?: ControllerApp;
  client: CsiClient;
  /** The extra backends' simulators by backend name (issue 16), when `backends` were asked for. */
  extraSims: Map<string, RunningSimulator>;
  stop(): Promise<void>;
}

/** The settings every in-process test stack shares: the simulator's address and login, short deadlines and backoff. */
export function fastTestSettings(sim: RunningSimulator): Overrides {
  return {
    'rds.host': sim.host,
    'rds.port': sim.port,
    'rds.password': 'secret',
    'rds.callTimeoutMs': 2000,
    'rds.connectTimeoutMs': 1000,
    'worker.backoffMs': 100,
    'worker.attempts': 3,
    'worker.lockMs': 3000,
    'worker.stalledIntervalMs': 1000,
    'worker.leaseMs': 3000,
  };
}

/** One more RDS backend for a test stack: its own simulator, its name and optional config keys (zone, exportPort…). */
export interface ExtraBackendSpec {
  name: string;
  sim?: Partial<SimulatorOptions>;
  settings?: Record<string, unknown>;
}

export async function startHarness(
  opts: {
    withWorker?: boolean;
    overrides?: Overrides;
    sim?: Partial<SimulatorOptions>;
    controller?: boolean;
    httpListen?: string;
    /** More RDS backends (issue 16), each a simulator of its own over TCP like the primary's. */
    backends?: ExtraBackendSpec[];
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-it-'));
  const redis = await startRedis();
  const sim = await startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, 'rds'), user: 'admin', password: 'secret', ...opts.sim });
  const extraSims = new Map<string, RunningSimulator>();
  const backends = [];
  for (const b of opts.backends ?? []) {
    const s = await startSimulator({
      host: '127.0.0.1',
      port: 0,
      dataDir: path.join(dir, `rds-${b.name}`),
      user: 'admin',
      password: 'secret',
      ...b.sim,
    });
    extraSims.set(b.name, s);
    const fast = fastTestSettings(s);
    backends.push({
      name: b.name,
      ...Object.fromEntries(Object.entries(fast).flatMap(([k, v]) => (k.startsWith('rds.') ? [[k.slice(4), v]] : []))),
      ...b.settings,
    });
  }
  const cfg = loadConfig(
    {
      redisUrl: redis.url,
      ...fastTestSettings(sim),
      logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...(backends.length ? { backends } : {}),
      ...opts.overrides,
    },
    {},
  );
  const endpoint = `unix://${path.join(dir, 'controller.sock')}`;
  const controller =
    opts.controller === false
      ? undefined
      : await startController(cfg, { endpoint, withWorker: opts.withWorker ?? true, httpListen: opts.httpListen }, createLogger(cfg.logLevel));
  const client = new CsiClient(endpoint);
  const h: Harness = {
    redis,
    sim,
    cfg,
    dir,
    endpoint,
    controller,
    client,
    extraSims,
    stop: async () => {
      client.close();
      // The controller now in h: a test may have restarted it (h.controller = await startController(...)).
      await h.controller?.close();
      await sim.close();
      for (const s of extraSims.values()) await s.close();
      await redis.stop();
      removeDirSafely(dir);
    },
  };
  return h;
}
