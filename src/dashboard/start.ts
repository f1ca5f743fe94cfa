/**
 * Starts the job dashboard only when it is on. The dashboard module (bull-board, its Express adapter and their
 * ~400 modules: express, lodash, mime-db, ejs, valibot) is loaded here, on first use, so a controller without a
 * dashboard credential never holds it in memory (issue 14 item 5: controller RSS with 10,000 volumes).
 * test/cli/controller-module-graph.test.ts checks a started controller's module list.
 */
import type { ConnectionOptions } from 'bullmq';
import type { Logger } from '../log/logger';
import type { DashboardAccess } from './auth';
import type { Dashboard } from './dashboard';

export async function startDashboardIfOn(
  access: DashboardAccess,
  queuePrefix: string,
  connection: ConnectionOptions,
  log: Logger,
): Promise<Dashboard | undefined> {
  if (access.mode === 'off') {
    log.debug('dashboard off: no credential configured (dashboard.basicAuthFile, dashboard.tokenFile)');
    return undefined;
  }
  const { startDashboard } = await import('./dashboard');
  return startDashboard(access, queuePrefix, connection, log);
}
