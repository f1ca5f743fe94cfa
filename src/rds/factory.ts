import { readFileSync } from 'node:fs';
import type { RdsConfig } from '../config/schema';
import type { Metrics } from '../metrics/registry';
import { createRdsPort } from './index';
import type { RdsPort } from './port';

/** The RDS port from config, with its calls and connection state feeding the process's metrics. */
export function rdsFromConfig(rds: RdsConfig, metrics?: Metrics): RdsPort {
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
      onStateChange: (state) => metrics?.rdsBreakerOpen.set(state === 'closed' ? 0 : 1),
    },
    onCall: (command, outcome, seconds) => metrics?.routerosCallDuration.observe({ command, outcome }, seconds),
    onState: (connected) => metrics?.rdsConnected.set(connected ? 1 : 0),
  });
}
