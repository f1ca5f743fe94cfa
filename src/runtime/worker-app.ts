import type { Config } from '../config/schema';
import type { Logger } from '../log/logger';
import { Metrics } from '../metrics/registry';
import { redisConnection } from '../queue/connection';
import type { RdsPort } from '../rds/port';
import { WorkerHost } from '../workers/worker-host';
import { startHttpServer, type HttpServer } from './http-server';
import { rdsFromConfig } from './rds-factory';

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
  const connection = redisConnection(cfg.redisUrl, 'blocking');
  const host = new WorkerHost({
    connection,
    prefix: cfg.queuePrefix,
    rds,
    basePath: cfg.rds.basePath,
    log,
    metrics,
    concurrency: cfg.worker.concurrency,
    leaseMs: cfg.worker.leaseMs,
    lockMs: cfg.worker.lockMs,
    stalledIntervalMs: cfg.worker.stalledIntervalMs,
  });
  await host.waitUntilReady();
  let http: HttpServer | undefined;
  if (shared.httpListen) {
    http = await startHttpServer(shared.httpListen, metrics, async () => (await connection.ping()) === 'PONG');
  }
  log.info({ concurrency: cfg.worker.concurrency }, 'worker ready');
  return {
    host,
    close: async () => {
      await host.close();
      await http?.close();
      if (!shared.rds) await rds.close();
      connection.disconnect();
    },
  };
}
