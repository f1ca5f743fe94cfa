import { loadConfig } from '../../src/config/load';
import { Metrics } from '../../src/metrics/registry';
import { rdsFromConfig } from '../../src/rds/factory';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { freePort } from '../support/redis';
import { value, parsePrometheusText } from './prom-text';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeDirSafely } from '../../src/host/safe-remove';

/**
 * rds_csi_rds_breaker_open (the RdsCsiRdsBreakerOpen alert, helm/files/prometheus-rules.yaml): 0 while the breaker is
 * closed, 1 once consecutive transient failures open it, 0 again after a successful probe. The RDS port as the
 * processes build it (rdsFromConfig with their Metrics), against nothing listening and then the simulator there.
 */
describe('rds_csi_rds_breaker_open', () => {
  let sim: RunningSimulator | undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-breaker-'));
  afterAll(async () => {
    await sim?.close();
    removeDirSafely(dir);
  });

  it('follows the circuit breaker: closed 0, open 1, closed again 0', async () => {
    const port = await freePort();
    const cfg = loadConfig(
      {
        'rds.host': '127.0.0.1',
        'rds.port': port,
        'rds.password': 'secret',
        'rds.breakerThreshold': 2,
        'rds.breakerOpenMs': 200,
        'rds.connectTimeoutMs': 500,
      },
      {},
    );
    const metrics = new Metrics('controller');
    const rds = rdsFromConfig(cfg.rds, metrics);
    const gauge = async (): Promise<number | undefined> =>
      value(parsePrometheusText(await metrics.registry.metrics()), 'rds_csi_rds_breaker_open', { backend: 'default' });
    try {
      expect(await gauge()).toBe(0);
      for (let i = 0; i < 2; i++) await expect(rds.ping()).rejects.toThrow();
      expect(await gauge()).toBe(1);
      sim = await startSimulator({ host: '127.0.0.1', port, dataDir: dir, user: 'admin', password: 'secret' });
      await new Promise((r) => setTimeout(r, 300));
      await rds.ping();
      expect(await gauge()).toBe(0);
    } finally {
      await rds.close();
    }
  });
});
