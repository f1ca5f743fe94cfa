import type { Config } from '../config/schema';
import type { Logger } from '../log/logger';
import { Metrics } from '../metrics/registry';
import { redisConnection, redisTargetFromConfig, replicaWait } from '../queue/connection';
import { warnAboutRedis } from './redis-warnings';
import type { RdsPort } from '../rds/port';
import { WorkerHost } from '../workers/worker-host';
import { JobProducer } from '../queue/producer';
import { driverState } from '../state/stores';
import { clusterFromConfig } from './cluster-factory';
import { fencingContext } from './fencing-context';
import { PoolSpace } from '../workers/pool-space';
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
  const producer = new JobProducer(fast, cfg.queuePrefix, cfg.worker);
  producer.queue.on('error', (err) => log.warn({ err: err.message }, 'queue connection error'));
  const cluster = await clusterFromConfig(cfg, log);
  const state = driverState(fast, cfg.queuePrefix, replicaWait(cfg));
  const fencing = fencingContext(cfg, producer, state.attachments, cluster, metrics);
  const host = new WorkerHost({
    connection,
    prefix: cfg.queuePrefix,
    deps: {
      rds,
      basePath: cfg.rds.basePath,
      volumePrefix: cfg.volumePrefix,
      nqnPrefix: cfg.nqnPrefix,
      records: { volumes: state.volumes, snapshots: state.snapshots },
      fencing,
      owner: { driver: cfg.driverName, cluster: cluster.clusterId },
      orphans: {
        slotPrefix: cfg.volumePrefix,
        owner: { driver: cfg.driverName, cluster: cluster.clusterId },
        delete: cfg.orphans.delete,
        graceMs: cfg.orphans.graceMs,
        sightings: state.sightings,
      },
      space: new PoolSpace(() => rds.poolCapacity(), cfg.worker.poolReadingTtlMs),
    },
    log,
    metrics,
    concurrency: cfg.worker.concurrency,
    leaseMs: cfg.worker.leaseMs,
    lockMs: cfg.worker.lockMs,
    stalledIntervalMs: cfg.worker.stalledIntervalMs,
    backoffMs: cfg.worker.backoffMs,
    backoffMaxMs: cfg.worker.backoffMaxMs,
  });
  await host.waitUntilReady();
  // One reconciler cluster-wide however many workers: a job scheduler is a single Redis entity.
  // Redis empty (fresh or lost)? Rebuild the records from RDS once; the job itself re-checks, so a few workers
  // starting together do it once (same job id per minute).
  await producer.add('reconcile.state', { volumeId: '' }, `reconcile.state-${Math.floor(Date.now() / 60000)}`, { class: 'startup' });
  await producer.schedule('reconcile.orphans', cfg.orphans.intervalMs);
  await producer.schedule('reconcile.attachments', cfg.fencing.reconcileIntervalMs);
  let http: HttpServer | undefined;
  if (shared.httpListen) {
    http = await startHttpServer(shared.httpListen, metrics, async () => (await connection.ping()) === 'PONG');
  }
  log.info({ concurrency: cfg.worker.concurrency, cluster: cluster.mode, clusterId: cluster.clusterId }, 'worker ready');
  return {
    host,
    close: async () => {
      await host.close();
      await producer.close();
      await http?.close();
      if (!shared.rds) await rds.close();
      connection.disconnect();
      fast.disconnect();
    },
  };
}
