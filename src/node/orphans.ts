import type { Logger } from '../log/logger';
import { type Connector, isManagedNqn, volumeIdOfNqn } from './connector';
import type { VolumeLocks } from './volume-lock';

/**
 * Orphan cleanup: a connection under the managed prefix whose namespace is gone (no block device — the volume was
 * deleted or unexported on RDS while connected with ctrl_loss_tmo −1) is disconnected. A connection with a device
 * is never an orphan here: it may be a staged block volume, which has no mount by design. Nothing outside the
 * prefix is ever touched (nodes may boot from the same RDS), checked here as well as in the connector. Each
 * candidate is re-checked under its volume's lock and skipped when a call on that volume is running (a stage
 * that has just connected has no device yet for a moment).
 */

export interface OrphanReport {
  disconnected: string[];
  skippedBusy: string[];
  failed: Array<{ nqn: string; error: string }>;
}

export async function cleanOrphans(connector: Connector, nqnPrefix: string, locks: VolumeLocks, log: Logger): Promise<OrphanReport> {
  const report: OrphanReport = { disconnected: [], skippedBusy: [], failed: [] };
  for (const c of await connector.listManaged()) {
    if (!isManagedNqn(nqnPrefix, c.nqn) || c.device) continue;
    const volumeId = volumeIdOfNqn(nqnPrefix, c.nqn);
    if (!volumeId) continue;
    try {
      const done = await locks.tryRun(volumeId, async () => {
        if (await connector.find(c.nqn)) return false;
        await connector.detach(c.nqn);
        return true;
      });
      if (done === undefined) report.skippedBusy.push(c.nqn);
      else if (done) report.disconnected.push(c.nqn);
    } catch (err) {
      report.failed.push({ nqn: c.nqn, error: (err as Error).message });
    }
  }
  if (report.disconnected.length || report.failed.length) log.info(report, 'orphan cleanup');
  return report;
}

/** Run at once and then every intervalMs (0 = once); errors are logged, never thrown. */
export function scheduleOrphanCleanup(run: () => Promise<unknown>, intervalMs: number, log: Logger): () => void {
  let running = false;
  const tick = (): void => {
    if (running) return;
    running = true;
    run()
      .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'orphan cleanup failed'))
      .finally(() => (running = false));
  };
  tick();
  if (intervalMs <= 0) return () => undefined;
  const t = setInterval(tick, intervalMs);
  t.unref();
  return () => clearInterval(t);
}
