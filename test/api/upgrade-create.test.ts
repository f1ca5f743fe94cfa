import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/log/logger';
import { cappedBackoffStrategy } from '../../src/queue/backoff';
import type { DiskCreateData, TargetExportData } from '../../src/queue/jobs';
import { RouterOsRds } from '../../src/rds';
import { memorySteps } from '../../src/workers/context';
import { processors } from '../../src/workers/processors';
import { MOUNT_RWO } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';

/**
 * A rolling upgrade (issue 14): this controller enqueues one disk.create that exports, but the worker that takes it
 * may still be one from before the one-job create, whose disk.create made the disk unexported and returned only its
 * size. The controller sees no `exported` in the result and runs target.export, which every worker still has.
 * The old worker is played here by a BullMQ worker that does what the old disk.create did on RDS (an add without the
 * export) and runs the real target.export processor.
 */
const MiB = 1024 * 1024;

describe('CreateVolume during a rolling upgrade (a disk.create run by an older worker)', () => {
  let h: Harness;
  let redis: Redis;
  let rds: RouterOsRds;
  let worker: Worker;
  const ran: string[] = [];

  beforeAll(async () => {
    h = await startHarness({ withWorker: false });
    redis = new Redis(h.redis.url, { maxRetriesPerRequest: null });
    rds = new RouterOsRds({
      host: h.sim.host,
      port: h.sim.port,
      user: 'admin',
      password: 'secret',
      poolName: h.sim.poolName,
      connectTimeoutMs: 1000,
      callTimeoutMs: 2000,
    });
    const ctx = { rds, basePath: h.cfg.rds.basePath, volumePrefix: h.cfg.volumePrefix, steps: memorySteps(), log: createLogger('silent') };
    worker = new Worker(
      'volumes',
      async (job) => {
        ran.push(job.name);
        if (job.name === 'disk.create') {
          const d = job.data as DiskCreateData;
          const disk = await rds.addDisk({ slot: d.slot, filePath: d.filePath, fileSizeBytes: d.sizeBytes }); // the old add: no export
          return { sizeBytes: disk.fileSizeBytes };
        }
        if (job.name === 'target.export') return processors['target.export'](job.data as TargetExportData, ctx);
        return undefined;
      },
      { connection: redis, prefix: h.cfg.queuePrefix, settings: { backoffStrategy: cappedBackoffStrategy(1000, 100) } },
    );
    await worker.waitUntilReady();
  });
  afterAll(async () => {
    await worker.close();
    await rds.close();
    redis.disconnect();
    await h.stop();
  });

  it('the controller falls back to target.export: the volume comes back exported', async () => {
    const res = await h.client.ctl(
      'CreateVolume',
      { name: 'upgrade-a', capacityRange: { requiredBytes: String(8 * MiB) }, volumeCapabilities: [MOUNT_RWO] },
      30000,
    );
    const disk = h.sim.disks().find((d) => d.slot === res.volume.volumeId);
    expect(disk).toMatchObject({ nvmeTcpExport: true, nvmeTcpServerNqn: `${h.cfg.nqnPrefix}:${res.volume.volumeId as string}` });
    expect(ran.filter((n) => n === 'disk.create' || n === 'target.export')).toEqual(['disk.create', 'target.export']);
  });
});
