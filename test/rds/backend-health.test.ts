import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { identityService } from '../../src/grpc/identity';
import { loadCsi } from '../../src/grpc/proto';
import { startServer, type RunningServer } from '../../src/grpc/server';
import { buildHandlers } from '../../src/grpc/service';
import { startHttpServer, type HttpServer } from '../../src/http/server';
import { removeDirSafely } from '../../src/host/safe-remove';
import { createLogger } from '../../src/log/logger';
import { Metrics } from '../../src/metrics/registry';
import { backendOperations, type BackendOperations } from '../../src/runtime/backend-operations';
import { backendsFromConfig, type RdsBackends } from '../../src/rds/backends';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { CsiClient } from '../support/csi-client';
import { histogramSeries, parsePrometheusText, scrape, value, type Families } from '../metrics/prom-text';

/**
 * Operations per backend (issue 16 item 4): two RouterOS simulators over TCP as backends "default" and "rds-b".
 * Every RDS metric carries the backend label; the CSI Probe (served over a real socket) is ready while one backend
 * answers and names the one that does not, not ready when none does; /healthz lists each backend up or down.
 */
const MiB = 1024 * 1024;
const dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-backend-health-'));
afterAll(() => removeDirSafely(dir));

function configFor(a: RunningSimulator, b: RunningSimulator, statusCacheMs = 0): Config {
  return loadConfig(
    {
      'rds.host': '127.0.0.1',
      'rds.port': a.port,
      'rds.password': 'secret',
      'rds.connectTimeoutMs': 1000,
      'rds.callTimeoutMs': 2000,
      'rds.statusCacheMs': statusCacheMs,
    },
    {
      RDS_CSI_BACKENDS: JSON.stringify([
        { name: 'rds-b', host: '127.0.0.1', port: b.port, password: 'secret', connectTimeoutMs: 1000, callTimeoutMs: 2000, statusCacheMs },
      ]),
    },
  );
}

describe('two RDS backends: metrics, Probe and /healthz per backend', () => {
  let simA: RunningSimulator;
  let simB: RunningSimulator;
  let backends: RdsBackends;
  let metrics: Metrics;
  let server: RunningServer;
  let http: HttpServer;
  let ops: BackendOperations;
  let client: CsiClient;
  const logged: Array<{ msg: string; down?: string[]; err?: string }> = [];
  const probe = async (): Promise<boolean> => Boolean((await client.id('Probe')).ready?.value);
  const healthz = async (): Promise<{ status: number; body: string }> => {
    const res = await fetch(`http://127.0.0.1:${http.port}/healthz`);
    return { status: res.status, body: await res.text() };
  };
  const metricsText = async (): Promise<Families> => parsePrometheusText(await metrics.registry.metrics());

  beforeAll(async () => {
    simA = await startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, 'a'), password: 'secret', poolSizeBytes: 512 * MiB });
    simB = await startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, 'b'), password: 'secret', poolSizeBytes: 256 * MiB });
    metrics = new Metrics('controller');
    backends = backendsFromConfig(configFor(simA, simB), metrics);
    // The controller's own log, read back: Probe's response has only `ready`, the log names the backends down.
    const log = createLogger('warn', 'test', { write: (line: string) => void logged.push(JSON.parse(line) as (typeof logged)[number]) });
    // Redis is not under test here: a check that always passes stands in for it.
    ops = backendOperations(backends, [{ name: 'redis', check: () => Promise.resolve() }], log);
    metrics.setScrapeSources(ops.scrapeSources);
    const identity = identityService('rds.csi.mikrotik.com', ops.probe);
    const csi = loadCsi().csi.v1;
    const endpoint = `unix://${path.join(dir, 'csi.sock')}`;
    server = await startServer(endpoint, [
      { definition: csi.Identity.service, handlers: buildHandlers(csi.Identity.service, 'Identity', identity, log, metrics) },
    ]);
    client = new CsiClient(endpoint);
    http = await startHttpServer('127.0.0.1:0', metrics, ops.healthz);
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
    await http?.close();
    await backends?.close();
    await simA?.close();
    await simB?.close();
  });

  it('both up: ready, /healthz lists both, every RDS metric has one series per backend', async () => {
    expect(await probe()).toBe(true);
    expect(logged).toEqual([]);
    expect(await healthz()).toEqual({ status: 200, body: 'ok\nredis: up\nbackend default: up\nbackend rds-b: up\n' });
    const m = await scrape(`http://127.0.0.1:${http.port}/metrics`);
    for (const [backend, size] of [
      ['default', 512 * MiB],
      ['rds-b', 256 * MiB],
    ] as const) {
      expect(value(m, 'rds_csi_pool_bytes', { backend, kind: 'size' })).toBe(size);
      expect(value(m, 'rds_csi_rds_backend_up', { backend })).toBe(1);
      expect(value(m, 'rds_csi_rds_connected', { backend })).toBe(1);
      expect(value(m, 'rds_csi_rds_breaker_open', { backend })).toBe(0);
      expect(histogramSeries(m, 'rds_csi_routeros_call_duration_seconds', { backend, outcome: 'ok', command: '/disk/print' })?.count).toBeGreaterThan(
        0,
      );
    }
  });

  it('the primary backend stopped: Probe still ready (rds-b answers) and names it; /healthz 200 with it down; its metrics alone say so', async () => {
    await simA.close();
    expect(await probe()).toBe(true);
    expect(logged).toEqual([expect.objectContaining({ msg: 'probe: ready, but RDS backend(s) default do not answer', down: ['default'] })]);
    expect(await healthz()).toEqual({ status: 200, body: 'ok\nredis: up\nbackend default: down\nbackend rds-b: up\n' });
    const m = await metricsText();
    expect(value(m, 'rds_csi_rds_backend_up', { backend: 'default' })).toBe(0);
    expect(value(m, 'rds_csi_rds_backend_up', { backend: 'rds-b' })).toBe(1);
    expect(value(m, 'rds_csi_rds_connected', { backend: 'default' })).toBe(0);
    expect(value(m, 'rds_csi_rds_connected', { backend: 'rds-b' })).toBe(1);
    expect(histogramSeries(m, 'rds_csi_routeros_call_duration_seconds', { backend: 'rds-b', outcome: 'error' })).toBeUndefined();
  });

  it('every backend down: Probe not ready, naming both; /healthz 503', async () => {
    await simB.faults.setDown(true);
    try {
      expect(await probe()).toBe(false);
      expect(logged.at(-1)).toMatchObject({
        msg: 'probe: not ready',
        err: expect.stringMatching(/no RDS backend answers: default \(.+\), rds-b \(.+\)/),
      });
      expect(await healthz()).toEqual({ status: 503, body: 'not ready\nredis: up\nbackend default: down\nbackend rds-b: down\n' });
      expect(value(await metricsText(), 'rds_csi_rds_backend_up', { backend: 'rds-b' })).toBe(0);
    } finally {
      await simB.faults.setDown(false);
    }
  });
});

describe('two RDS backends: /healthz and the gauges read each backend through its own statusCacheMs cache', () => {
  it('60 scrapes of /metrics and /healthz make at most one ping and one pool read on each backend', async () => {
    const simA = await startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, 'ca'), password: 'secret' });
    const simB = await startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, 'cb'), password: 'secret' });
    const metrics = new Metrics('controller');
    const backends = backendsFromConfig(configFor(simA, simB, 60000), metrics);
    const ops = backendOperations(backends, [], createLogger('silent'));
    metrics.setScrapeSources(ops.scrapeSources);
    const http = await startHttpServer('127.0.0.1:0', metrics, ops.healthz);
    try {
      const prints = (): number[] => [simA, simB].map((sim) => sim.stats()['/disk/print'] ?? 0);
      const before = prints();
      const get = async (p: string): Promise<number> => (await fetch(`http://127.0.0.1:${http.port}${p}`)).status;
      const statuses = await Promise.all(Array.from({ length: 30 }, (_, i) => get(i % 2 ? '/metrics' : '/healthz')));
      for (let i = 0; i < 30; i++) statuses.push(await get(i % 2 ? '/metrics' : '/healthz'));
      expect(statuses.every((s) => s === 200)).toBe(true);
      const after = prints();
      expect(after.map((n, i) => n - before[i])).toEqual([2, 2]);
    } finally {
      await http.close();
      await backends.close();
      await simA.close();
      await simB.close();
    }
  });
});
