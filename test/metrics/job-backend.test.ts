import { MOUNT_RWO } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { histogramSeries, scrape, value, type Families } from './prom-text';

/**
 * Issue 16: the job metrics (duration, attempts) carry the job's RDS backend. A controller with its in-process worker
 * and two backends (each a RouterOS simulator over TCP) creates one volume on each; /metrics is scraped over HTTP.
 */
const MiB = 1024 * 1024;

describe('job metrics per RDS backend', () => {
  let h: Harness;
  let after: Families;

  beforeAll(async () => {
    h = await startHarness({ httpListen: '127.0.0.1:0', backends: [{ name: 'rds-b' }] });
    for (const [name, parameters] of [
      ['pvc-jobs-primary', {}],
      ['pvc-jobs-b', { backend: 'rds-b' }],
    ] as const) {
      await h.client.ctl(
        'CreateVolume',
        { name, capacityRange: { requiredBytes: String(8 * MiB) }, volumeCapabilities: [MOUNT_RWO], parameters },
        30000,
      );
    }
    after = await scrape(`http://127.0.0.1:${h.controller?.http?.port}/metrics`);
  });
  afterAll(async () => {
    await h?.stop();
  });

  it.each([['rds-b'], ['default']])('a disk.create on backend %s is counted under its backend label', (backend) => {
    const s = histogramSeries(after, 'rds_csi_job_duration_seconds', { type: 'disk.create', outcome: 'completed', backend });
    expect(s?.count).toBe(1);
    expect(value(after, 'rds_csi_job_attempts_total', { type: 'disk.create', backend })).toBe(1);
  });
});
