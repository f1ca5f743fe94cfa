import type { Config } from '../config/schema';
import type { Logger } from '../log/logger';
import { Metrics } from '../metrics/registry';
import { redisConnection, redisTargetFromConfig, replicaWait } from '../queue/connection';
import { closeRedis, closeWhileRedisAnswers } from '../queue/close-redis';
import { warnAboutRedis } from './redis-warnings';
import type { RdsPort } from '../rds/port';
import { WorkerHost } from '../workers/worker-host';
import { JobProducer } from '../queue/producer';
import { reconcileKey } from '../queue/jobs';
import { driverState } from '../state/stores';
import { clusterFromConfig } from './cluster-factory';
import { fencingContext } from './fencing-context';
import { startHttpServer, type HttpServer } from '../http/server';
import { rdsFromConfig } from '../rds/factory';
import { backendsFromConfig, type RdsBackends } from '../rds/backends';
import { workerBackends } from '../workers/backend-set';
import { keepSchedulesInStep, syncSchedules, type SchedulePlan } from './reconciler-schedules';

/** A worker: runs volume jobs against RDS. In its own process (`rds-csi worker`) or inside the controller. */
export interface WorkerApp {
  host: WorkerHost;
  close(): Promise<void>;
}

export async function startWorker(
  cfg: Config,
  log: Logger,
  shared: {
    metrics?: Metrics;
    rds?: RdsPort;
    backends?: RdsBackends;
    httpListen?: string;
    /** How often the reconcilers' schedulers are re-applied (SCHEDULE_TICK_MS; shorter in tests). */
    scheduleTickMs?: number;
  } = {},
): Promise<WorkerApp> {
  const metrics = shared.metrics ?? new Metrics('worker');
  // Every RDS backend (issue 16), each with its own port (connection, breaker, metrics label). A caller's
  // `backends` are used as they are; a caller's `rds` (the controller's, before it had backends) is the primary's
  // port, the extra backends get ports of their own. What this worker made, it closes.
  const backends = shared.backends ?? backendsFromConfig(cfg, metrics, (c) => (c.primary && shared.rds ? shared.rds : rdsFromConfig(c.rds, metrics)));
  const ownPorts = shared.backends ? [] : backends.list.map((b) => b.rds).filter((r) => r !== shared.rds);
  const connection = redisConnection(redisTargetFromConfig(cfg), 'blocking');
  const fast = redisConnection(redisTargetFromConfig(cfg), 'fast');
  warnAboutRedis(fast, cfg.queuePrefix, log);
  const producer = new JobProducer(fast, cfg.queuePrefix, cfg.worker);
  producer.queue.on('error', (err) => log.warn({ err: err.message }, 'queue connection error'));
  const cluster = await clusterFromConfig(cfg, log);
  const state = driverState(fast, cfg.queuePrefix, replicaWait(cfg));
  const fencing = fencingContext(cfg, producer, state.attachments, cluster, metrics);
  const jobBackends = workerBackends(backends, cfg.worker.poolReadingTtlMs, cfg.worker.concurrency);
  const host = new WorkerHost({
    connection,
    prefix: cfg.queuePrefix,
    deps: {
      backends: jobBackends,
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
  // One run of each per RDS backend (issue 16): the primary's job ids as before, an extra backend's carry its name.
  const minute = Math.floor(Date.now() / 60000);
  for (const b of backends.list) {
    const backend = b.primary ? undefined : b.name;
    const data = backend === undefined ? { volumeId: '' as const } : { volumeId: '' as const, backend };
    await producer.add('reconcile.state', data, `${reconcileKey('reconcile.state', backend)}-${minute}`, { class: 'startup' });
  }
  // The schedulers: set now, and again every tick while this worker runs (a rolling change of the backends list:
  // reconciler-schedules.ts).
  const plan: SchedulePlan = {
    orphansEveryMs: cfg.orphans.intervalMs,
    attachmentsEveryMs: cfg.fencing.reconcileIntervalMs,
    extraBackends: backends.list.filter((b) => !b.primary).map((b) => b.name),
  };
  const stale = await syncSchedules(producer, plan);
  if (stale.length) log.info({ schedulers: stale }, 'removed the orphan reconcilers of backends no longer configured');
  let http: HttpServer | undefined;
  if (shared.httpListen) {
    http = await startHttpServer(shared.httpListen, metrics, async () => (await connection.ping()) === 'PONG');
  }
  const schedules = keepSchedulesInStep(producer, plan, log, shared.scheduleTickMs);
  // jobLimits: each backend's effective limit of jobs at once in this worker (backendJobLimit: its own or the default).
  const jobLimits = Object.fromEntries(jobBackends.list.map((b) => [b.name, b.concurrency]));
  log.info(
    { concurrency: cfg.worker.concurrency, backends: backends.names(), jobLimits, cluster: cluster.mode, clusterId: cluster.clusterId },
    'worker ready',
  );
  return {
    host,
    close: async () => {
      // With Redis down, BullMQ's close would wait for ever (close-redis.ts): stop without it, saying so.
      // The schedulers' tick stops first (no Redis call after this); a tick in flight is waited for like the jobs.
      const closing = Promise.all([schedules.stop(), host.close()]).then(() => undefined);
      if ((await closeWhileRedisAnswers(closing, fast)) === 'redis-unreachable') {
        log.warn(
          { lockMs: cfg.worker.lockMs },
          'Redis unreachable while stopping: not waiting for the jobs in flight; they stay in Redis and run again once their lock expires',
        );
      }
      await producer.close();
      await http?.close();
      await Promise.all(ownPorts.map((r) => r.close().catch(() => undefined)));
      closeRedis(connection);
      closeRedis(fast);
    },
  };
}
