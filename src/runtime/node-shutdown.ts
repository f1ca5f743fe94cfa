import type { NodeConfig } from '../config/schema';
import type { HostPort } from '../host/port';
import type { Logger } from '../log/logger';
import { lowerCtrlLossTmo, type ShutdownReport } from '../node/shutdown';
import { nodeShutdownSignal } from '../node/shutdown-signal';

/**
 * `rds-csi node shutdown` and the plugin's SIGTERM: lower the managed controllers' ctrl_loss_tmo to the configured
 * bound — always when asked explicitly, only on a real node shutdown when `onlyIfShuttingDown` (the chart's preStop
 * hook and the plugin's SIGTERM: a pod restart or upgrade must keep −1).
 */

export interface NodeShutdownResult {
  /** lowered: the bound was applied; skipped: not a node shutdown, nothing touched. */
  action: 'lowered' | 'skipped';
  reason: string;
  report?: ShutdownReport;
}

export async function nodeShutdown(
  node: NodeConfig,
  nqnPrefix: string,
  host: HostPort,
  opts: { onlyIfShuttingDown: boolean },
  log: Logger,
): Promise<NodeShutdownResult> {
  const s = node.shutdown;
  let reason = 'requested explicitly';
  if (opts.onlyIfShuttingDown) {
    const signal = await nodeShutdownSignal({
      run: host.run,
      dbusSend: s.dbusSend,
      systemBus: s.systemBus,
      systemdPrivate: s.systemdPrivate,
      timeoutMs: s.detectTimeoutMs,
    });
    if (!signal.shuttingDown) {
      log.info({ reason: signal.reason }, 'not a node shutdown: ctrl_loss_tmo of the managed controllers left as it is');
      return { action: 'skipped', reason: signal.reason };
    }
    reason = signal.reason;
  }
  const report = await lowerCtrlLossTmo(host.sysfs, nqnPrefix, s.ctrlLossTmo);
  const summary = {
    reason,
    ctrlLossTmo: s.ctrlLossTmo,
    lowered: report.lowered.map((c) => `${c.controller} ${c.nqn} ${c.before}->${c.after ?? '?'}`),
    unchanged: report.unchanged.length,
    gone: report.gone,
    unmanaged: report.unmanaged,
  };
  if (report.failed.length) log.error({ ...summary, failed: report.failed }, 'node shutdown: ctrl_loss_tmo not lowered on every managed controller');
  else log.warn(summary, 'node shutdown: ctrl_loss_tmo of the managed controllers lowered');
  return { action: 'lowered', reason, report };
}
