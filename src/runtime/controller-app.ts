import { QueueEvents } from 'bullmq';
import { identityService } from '../grpc/identity';
import { controllerService } from '../api/controller';
import { portFailure } from '../api/error-map';
import { VolumeOperations } from '../api/volume-operations';
import { SnapshotOperations } from '../api/snapshot-operations';
import type { Config } from '../config/schema';
import { dashboardAccess } from '../dashboard/auth';
import { startDashboardIfOn } from '../dashboard/start';
import { loadCsi } from '../grpc/proto';
import { startServer, type RunningServer } from '../grpc/server';
import { buildHandlers } from '../grpc/service';
import type { Logger } from '../log/logger';
import { scrubUrl } from '../log/logger';
import { Metrics } from '../metrics/registry';
import { redisConnection, redisTargetFromConfig, replicaWait } from '../queue/connection';
import { warnAboutRedis } from './redis-warnings';
import { JobRunner } from '../queue/job-runner';
import { JobProducer } from '../queue/producer';
import { VOLUME_QUEUE } from '../queue/jobs';
import type { RdsPort } from '../rds/port';
import { driverState } from '../state/stores';
import { startHttpServer, startMountServer, type HttpServer } from '../http/server';
import { clusterFromConfig } from './cluster-factory';
import { backendsFromConfig, type Backend } from '../rds/backends';
import type { PoolCapacity } from '../rds/port';
import { backendOperations } from './backend-operations';
import { VolumeHealth } from '../api/volume-health';
import type { WorkerApp } from './worker-app';

export interface ControllerAppOptions {
  endpoint: string;
  /** host:port for /metrics and /healthz; omitted = no HTTP port. The dashboard listens on cfg.dashboard.listen. */
  httpListen?: string;
  /** Run a worker inside this process as well. */
  withWorker?: boolean;
}

export interface ControllerApp {
  server: RunningServer;
  http?: HttpServer;
  /** The job dashboard's own server (cfg.dashboard.listen), when the dashboard is on. */
  dashboard?: HttpServer;
  metrics: Metrics;
  rds: RdsPort;
  close(): Promise<void>;
}

export async function startController(cfg: Config, opts: ControllerAppOptions, log: Logger): Promise<ControllerApp> {
  // Read the dashboard credential files first: a bad one stops the start before anything is opened.
  const access = dashboardAccess(cfg.dashboard);
  const metrics = new Metrics('controller');
  const redis = redisConnection(redisTargetFromConfig(cfg), 'fast');
  const blocking = redisConnection(redisTargetFromConfig(cfg), 'blocking');
  const producer = new JobProducer(redis, cfg.queuePrefix, cfg.worker);
  const queue = producer.queue;
  queue.on('error', (err) => log.warn({ err: err.message }, 'queue connection error'));
  const events = new QueueEvents(VOLUME_QUEUE, { connection: blocking, prefix: cfg.queuePrefix, autorun: true });
  events.on('error', (err) => log.warn({ err: err.message }, 'queue events connection error'));
  warnAboutRedis(redis, cfg.queuePrefix, log);
  // Every RDS (issue 16), each with its own RouterOS connection and breaker; `rds` is the primary's port.
  const backends = backendsFromConfig(cfg, metrics);
  const rds = backends.primary.rds;
  const wait = replicaWait(cfg);
  const { volumes: store, snapshots, attachments } = driverState(redis, cfg.queuePrefix, wait);
  const runner = new JobRunner(producer, events);
  const ops = new VolumeOperations({
    store,
    attachments,
    runner,
    nqnPrefix: cfg.nqnPrefix,
  });
  const cluster = await clusterFromConfig(cfg, log);
  const snapOps = new SnapshotOperations({ store: snapshots, runner });

  // The HTTP port's view of every RDS (pool gauges, /healthz, backend up) and the Probe, in one place (issue 16
  // item 4): each backend's ping and pool reading cached for its rds.statusCacheMs, so a scrape costs RDS nothing
  // extra; placement reads every candidate's pool through the same cache (one call per backend per TTL).
  const bops = backendOperations(backends, [{ name: 'redis', check: async () => void (await redis.ping()) }], log);
  const poolOf = (b: Backend): Promise<PoolCapacity> => bops.health.pool(b.name)();
  const cachedPool = bops.health.pool(backends.primary.name);
  metrics.setScrapeSources({
    queueCounts: () => queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'),
    ...bops.scrapeSources,
    managed: async () => {
      const [volumes, snaps, atts] = await Promise.all([store.count(), snapshots.count(), attachments.all()]);
      return { volumes, snapshots: snaps, migrations: atts.filter((a) => a.migration).length };
    },
  });
  const csi = loadCsi().csi.v1;
  const identity = identityService(cfg.driverName, bops.probe);
  const controller = controllerService({
    ops,
    snapOps,
    store,
    snapshots,
    attachments,
    backends,
    poolOf,
    driverName: cfg.driverName,
    health: new VolumeHealth(cachedPool, { poolFullPercent: cfg.health.poolFullPercent }, metrics),
    nodes: cluster.nodes,
    events: cluster.events,
    defaultMigrationWindowSeconds: cfg.fencing.defaultMigrationWindowSeconds,
    limits: cfg.volumes,
    volumePrefix: cfg.volumePrefix,
    deadlineMarginMs: cfg.api.deadlineMarginMs,
    defaultWaitMs: cfg.api.defaultWaitMs,
  });
  let worker: WorkerApp | undefined;
  // Loaded only with --with-worker: a controller alone does not hold the job processors and reconcilers.
  if (opts.withWorker) worker = await (await import('./worker-app')).startWorker(cfg, log.child({ component: 'worker' }), { metrics, backends });
  await events.waitUntilReady();
  const server = await startServer(opts.endpoint, [
    { definition: csi.Identity.service, handlers: buildHandlers(csi.Identity.service, 'Identity', identity, log, metrics) },
    { definition: csi.Controller.service, handlers: buildHandlers(csi.Controller.service, 'Controller', controller, log, metrics, portFailure) },
  ]);
  const dashboard = await startDashboardIfOn(access, cfg.queuePrefix, redis, log.child({ component: 'dashboard' }));
  const dashboardHttp = dashboard ? await startMountServer(cfg.dashboard.listen, [dashboard.mount]) : undefined;
  if (dashboardHttp) log.info({ listen: cfg.dashboard.listen, port: dashboardHttp.port }, 'job dashboard listening on its own address');
  const http = opts.httpListen ? await startHttpServer(opts.httpListen, metrics, bops.healthz) : undefined;
  log.info(
    {
      endpoint: opts.endpoint,
      redis: scrubUrl(cfg.redisUrl),
      rds: `${cfg.rds.host}:${cfg.rds.port}`,
      backends: backends.names(),
      http: http?.port,
      dashboard: dashboardHttp?.port,
      worker: !!worker,
    },
    'controller ready',
  );

  return {
    server,
    http,
    dashboard: dashboardHttp,
    metrics,
    rds,
    close: async () => {
      await server.close();
      await http?.close();
      await dashboardHttp?.close();
      await dashboard?.close();
      await worker?.close();
      runner.close();
      await events.close();
      await queue.close();
      await backends.close();
      redis.disconnect();
      blocking.disconnect();
    },
  };
}
