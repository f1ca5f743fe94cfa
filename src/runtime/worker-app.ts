import type { Config } from '../config/schema';
import type { Logger } from '../log/logger';
import { Metrics } from '../metrics/registry';
import { redisConnection, redisTargetFromConfig, replicaWait } from '../queue/connection';
import { warnAboutRedis } from './redis-warnings';
import type { RdsPort } from '../rds/port';
import { WorkerHost } from '../workers/worker-host';
import { Queue } from 'bullmq';
import { VOLUME_QUEUE } from '../queue/jobs';
import { RedisAttachmentStore } from '../state/redis-attachment-store';
import { RedisRecordStore } from '../state/redis-record-store';
import { OrphanSightings } from '../state/orphan-sightings';
import type { SnapshotRecord } from '../state/snapshot-record';
import type { VolumeRecord } from '../state/volume-record';
import { clusterFromConfig } from './cluster-factory';
import { fencingContext } from './fencing-context';
import { startHttpServer, type HttpServer } from '../http/server';
import { rdsFromConfig } from '../rds/factory';

/** A worker: runs volume jobs against RDS. In its own process (`rds-csi worker`) or inside the controller. */
export interface WorkerApp {
  host: WorkerHost;
  close(): Promise<void>;
}

export async function startWorker(
  cfg: Config,
  log: Logger,
  shared: { metrics?: Metrics; rds?: RdsPort; httpListen?: string } = {},
): Promise<WorkerApp> {
  const metrics = shared.metrics ?? new Metrics('worker');
  const rds = shared.rds ?? rdsFromConfig(cfg.rds, metrics);
  const connection = redisConnection(redisTargetFromConfig(cfg), 'blocking');
  const fast = redisConnection(redisTargetFromConfig(cfg), 'fast');
  warnAboutRedis(fast, cfg.queuePrefix, log);
  const queue = new Queue(VOLUME_QUEUE, { connection: fast, prefix: cfg.queuePrefix });
  queue.on('error', (err) => log.warn({ err: err.message }, 'queue connection error'));
  const cluster = await clusterFromConfig(cfg, log);
  const fencing = fencingContext(cfg, queue, new RedisAttachmentStore(fast, cfg.queuePrefix), cluster, metrics);
  const host = new WorkerHost({
    connection,
    prefix: cfg.queuePrefix,
    rds,
    basePath: cfg.rds.basePath,
    volumePrefix: cfg.volumePrefix,
    log,
    metrics,
    concurrency: cfg.worker.concurrency,
    leaseMs: cfg.worker.leaseMs,
    lockMs: cfg.worker.lockMs,
    stalledIntervalMs: cfg.worker.stalledIntervalMs,
    backoffMs: cfg.worker.backoffMs,
    backoffMaxMs: cfg.worker.backoffMaxMs,
    fencing,
    records: { volumes: new RedisRecordStore<VolumeRecord>(fast, cfg.queuePrefix, 'vol', replicaWait(cfg)), snapshots: new RedisRecordStore<SnapshotRecord>(fast, cfg.queuePrefix, 'snap', replicaWait(cfg)) },
    nqnPrefix: cfg.nqnPrefix,
    orphans: { slotPrefix: cfg.volumePrefix, delete: cfg.orphans.delete, graceMs: cfg.orphans.graceMs, sightings: new OrphanSightings(fast, cfg.queuePrefix) },
  });
  await host.waitUntilReady();
  // One reconciler cluster-wide however many workers: a job scheduler is a single Redis entity.
  // Redis empty (fresh or lost)? Rebuild the records from RDS once; the job itself re-checks, so a few workers
  // starting together do it once (same job id per minute).
  await queue.add('reconcile.state', { volumeId: '' }, { jobId: `reconcile.state-${Math.floor(Date.now() / 60000)}`, removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } });
  await queue.upsertJobScheduler('reconcile.orphans', { every: cfg.orphans.intervalMs }, { name: 'reconcile.orphans', data: { volumeId: '' } });
  await queue.upsertJobScheduler('reconcile.attachments', { every: cfg.fencing.reconcileIntervalMs }, { name: 'reconcile.attachments', data: { volumeId: '' } });
  let http: HttpServer | undefined;
  if (shared.httpListen) {
    http = await startHttpServer(shared.httpListen, metrics, async () => (await connection.ping()) === 'PONG');
  }
  log.info({ concurrency: cfg.worker.concurrency, cluster: cluster.mode }, 'worker ready');
  return {
    host,
    close: async () => {
      await host.close();
      await queue.close();
      await http?.close();
      if (!shared.rds) await rds.close();
      connection.disconnect();
      fast.disconnect();
    },
  };
}
