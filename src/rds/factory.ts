import { readFileSync } from 'node:fs';
import type { RdsConfig } from '../config/schema';
import type { Metrics } from '../metrics/registry';
import { createRdsPort } from './index';
import type { RdsPort } from './port';

/**
 * The RDS port from config, with its calls and connection state feeding the process's metrics, labelled with the
 * backend's name (rds.backend: "default" for a single RDS; backends[].name for the others, src/config/backends.ts).
 */
export function rdsFromConfig(rds: RdsConfig, metrics?: Metrics): RdsPort {
  const backend = rds.backend;
  // Both gauges start at 0 (closed, not connected yet) so every backend has its series from the start.
  metrics?.rdsBreakerOpen.set({ backend }, 0);
  metrics?.rdsConnected.set({ backend }, 0);
  return createRdsPort({
    host: rds.host,
    port: rds.port,
    user: rds.user,
    password: rds.password,
    tls: rds.tls ? { ca: rds.caFile ? readFileSync(rds.caFile) : undefined, servername: rds.tlsServerName } : undefined,
    connectTimeoutMs: rds.connectTimeoutMs,
    callTimeoutMs: rds.callTimeoutMs,
    poolName: rds.poolName,
    breaker: {
      failureThreshold: rds.breakerThreshold,
      openMs: rds.breakerOpenMs,
      onStateChange: (state) => metrics?.rdsBreakerOpen.set({ backend }, state === 'closed' ? 0 : 1),
    },
    onCall: (command, outcome, seconds) => metrics?.routerosCallDuration.observe({ command, outcome, backend }, seconds),
    onState: (connected) => metrics?.rdsConnected.set({ backend }, connected ? 1 : 0),
  });
}
