import type { ReadinessCheck } from '../grpc/identity';
import { healthReport, type HealthReport } from '../http/health';
import type { Logger } from '../log/logger';
import type { ScrapeSources } from '../metrics/registry';
import { BackendHealth } from '../rds/backend-health';
import type { RdsBackends } from '../rds/backends';

/** What the controller gives the Identity service (identityService's options). */
export interface ProbeOptions {
  checks: ReadinessCheck[];
  onNotReady: (name: string, err: unknown) => void;
  onDegraded: (name: string, down: readonly string[]) => void;
}

export interface BackendOperations {
  health: BackendHealth;
  /** Spread into metrics.setScrapeSources: rds_csi_pool_bytes{backend} and rds_csi_rds_backend_up{backend}. */
  scrapeSources: Required<Pick<ScrapeSources, 'pools' | 'backendsUp'>>;
  /** identityService(driverName, probe): ready while `others` pass and one backend answers a live ping. */
  probe: ProbeOptions;
  /** startHttpServer(listen, metrics, healthz): the same rule over the cached pings; the body lists every part. */
  healthz: () => Promise<HealthReport>;
}

/**
 * The controller's view of its RDS backends for operations (issue 16 item 4), in one place: the CSI Probe, /healthz
 * and the scrape-time gauges. `others` are the checks that must pass besides the backends (Redis).
 */
export function backendOperations(backends: RdsBackends, others: ReadinessCheck[], log: Logger): BackendOperations {
  const health = BackendHealth.fromBackends(backends);
  return {
    health,
    scrapeSources: health.scrapeSources(),
    probe: {
      checks: [...others, health.readiness('live')],
      onNotReady: (name, err) => log.warn({ dependency: name, err: (err as Error).message }, 'probe: not ready'),
      onDegraded: (name, down) => log.warn({ dependency: name, down }, `probe: ready, but RDS backend(s) ${down.join(', ')} do not answer`),
    },
    healthz: healthReport(others, () => health.cached()),
  };
}
