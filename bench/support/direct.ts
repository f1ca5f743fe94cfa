import { loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { backingFilePath, nqnFor, volumeIdFromName } from '../../src/domain/ids';
import { createLogger } from '../../src/log/logger';
import { Metrics } from '../../src/metrics/registry';
import type { RdsPort } from '../../src/rds/port';
import { rdsFromConfig } from '../../src/rds/factory';
import { processors } from '../../src/workers/processors';
import { memorySteps } from '../../src/workers/context';
import { PoolSpace } from '../../src/workers/pool-space';
import { BENCH_VOLUME_BYTES } from './csi';
import { SIM_PASSWORD, SIM_USER } from './stack';

/**
 * The baseline without gRPC, Redis or the queue: the same processor the worker runs (disk.create, which creates the
 * disk already exported), so the same RdsPort calls in the same order, on an RdsPort configured like the worker's.
 */
export class DirectCreator {
  readonly cfg: Config;
  readonly rds: RdsPort;
  /** Its RouterOS call histogram, as the worker's own. */
  readonly metrics = new Metrics('bench-direct');
  private readonly log = createLogger('silent');
  /** The worker's free-space check, with the worker's TTL. */
  private readonly space: PoolSpace;

  constructor(simPort: number) {
    this.cfg = loadConfig(
      { 'rds.host': '127.0.0.1', 'rds.port': simPort, 'rds.user': SIM_USER, 'rds.password': SIM_PASSWORD, logLevel: 'silent' },
      {},
    );
    this.rds = rdsFromConfig(this.cfg.rds, this.metrics);
    this.space = new PoolSpace(() => this.rds.poolCapacity(), this.cfg.worker.poolReadingTtlMs);
  }

  /** Creates (already exported) the volume the controller would make for CSI name `name`; returns its ms. */
  async create(name: string): Promise<{ createMs: number }> {
    const id = volumeIdFromName(name, this.cfg.volumePrefix);
    // Steps in memory: the direct path has no job whose progress could keep them.
    const ctx = {
      rds: this.rds,
      basePath: this.cfg.rds.basePath,
      volumePrefix: this.cfg.volumePrefix,
      steps: memorySteps(),
      log: this.log,
      space: this.space,
      storageSide: this.cfg.fencing.storageSide,
    };
    const t0 = process.hrtime.bigint();
    const filePath = backingFilePath(this.cfg.rds.basePath, id);
    const nqn = nqnFor(this.cfg.nqnPrefix, id);
    await processors['disk.create']({ volumeId: id, slot: id, filePath, sizeBytes: BENCH_VOLUME_BYTES, nqn, port: this.cfg.rds.exportPort }, ctx);
    const t1 = process.hrtime.bigint();
    return { createMs: Number(t1 - t0) / 1e6 };
  }

  /**
   * Removes the disk and backing file of CSI name `name` from RDS, whoever created them. Straight through the
   * RdsPort: disk.delete would (rightly) refuse a job that no DeleteVolume enqueued (processors/delete-guard.ts).
   */
  async remove(name: string): Promise<void> {
    const id = volumeIdFromName(name, this.cfg.volumePrefix);
    const disk = await this.rds.getDisk(id);
    if (disk) await this.rds.removeDisk(disk.id);
    const file = await this.rds.getFile(backingFilePath(this.cfg.rds.basePath, id));
    if (file) await this.rds.removeFile(file.id);
  }

  metricsText(): Promise<string> {
    return this.metrics.registry.metrics();
  }

  close(): Promise<void> {
    return this.rds.close();
  }
}
