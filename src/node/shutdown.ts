import { isMissing, type Sysfs } from '../host/sysfs';
import { isManagedNqn } from './connector';
import { nvmeSubsystems } from './nvme-sysfs';

/**
 * Safe node shutdown (issue 15 item 1). Volumes connect with ctrl_loss_tmo −1: the kernel reconnects forever, which
 * keeps mounts alive through an RDS restart, and also holds a node's shutdown forever when the RDS is unreachable —
 * the umount of a file system on a reconnecting controller waits for its writes (openebs/mayastor#1764: a reboot
 * stuck behind endless NVMe reconnects). On a real node shutdown the managed controllers' ctrl_loss_tmo is lowered
 * to a bound, so the kernel gives up and deletes each unreachable controller within it; pending I/O then fails and
 * the umount completes. Controllers outside the managed NQN prefix (the node's boot disk, another driver, a prefix
 * look-alike `<prefix>x:`) are never touched, as in the orphan cleanup.
 *
 * The kernel allows this on a live controller: `/sys/class/nvme/nvmeX/ctrl_loss_tmo` is a read-write attribute of
 * fabrics controllers (drivers/nvme/host/sysfs.c, nvme_ctrl_loss_tmo_store, `DEVICE_ATTR(ctrl_loss_tmo, S_IRUGO |
 * S_IWUSR, …)`): a negative value sets max_reconnects = −1 (forever), otherwise max_reconnects =
 * DIV_ROUND_UP(ctrl_loss_tmo, reconnect_delay); it reads back "off" or max_reconnects × reconnect_delay.
 * nvmf_should_reconnect (drivers/nvme/host/fabrics.c) compares the outage's nr_reconnects with max_reconnects at
 * every failed attempt, so a controller already reconnecting longer than the bound is deleted at its next attempt.
 * A live controller keeps working; the bound applies only if its target goes away during the shutdown.
 *
 * Never raises: a controller whose ctrl_loss_tmo is already at or below the bound is left as it is. Idempotent.
 */

export interface CtrlLossChange {
  controller: string;
  nqn: string;
  /** The attribute as read before ("off" = −1, forever). */
  before: string;
  after?: string;
}

export interface ShutdownReport {
  seconds: number;
  lowered: CtrlLossChange[];
  /** Managed controllers already at or below the bound. */
  unchanged: CtrlLossChange[];
  /** Managed controllers that went away while we looked (deleted by the kernel or disconnected). */
  gone: string[];
  failed: Array<{ controller: string; nqn: string; error: string }>;
  /** Controllers outside the managed prefix: counted, never touched. */
  unmanaged: number;
}

/** "off" (or a negative number) = reconnect forever. */
function seconds(attr: string): number | undefined {
  if (attr === 'off') return -1;
  return /^-?\d+$/.test(attr) ? Number(attr) : undefined;
}

export async function lowerCtrlLossTmo(sysfs: Sysfs, nqnPrefix: string, bound: number): Promise<ShutdownReport> {
  if (!Number.isInteger(bound) || bound < 0) throw new RangeError(`shutdown ctrl_loss_tmo must be an integer >= 0 (got ${bound})`);
  const report: ShutdownReport = { seconds: bound, lowered: [], unchanged: [], gone: [], failed: [], unmanaged: 0 };
  for (const sub of await nvmeSubsystems(sysfs)) {
    if (!isManagedNqn(nqnPrefix, sub.nqn)) {
      report.unmanaged += sub.controllers.length;
      continue;
    }
    for (const c of sub.controllers) {
      const attr = ['class', 'nvme', c.name, 'ctrl_loss_tmo'];
      try {
        const before = await sysfs.read(...attr);
        if (before === undefined) {
          if (await sysfs.exists('class', 'nvme', c.name)) {
            report.failed.push({
              controller: c.name,
              nqn: c.nqn,
              error: 'no ctrl_loss_tmo attribute (the kernel exposes it for fabrics controllers since Linux 5.10)',
            });
          } else report.gone.push(c.name);
          continue;
        }
        const now = seconds(before);
        if (now !== undefined && now >= 0 && now <= bound) {
          report.unchanged.push({ controller: c.name, nqn: c.nqn, before, after: before });
          continue;
        }
        await sysfs.write(String(bound), ...attr);
        report.lowered.push({ controller: c.name, nqn: c.nqn, before, after: await sysfs.read(...attr) });
      } catch (err) {
        if (isMissing(err)) report.gone.push(c.name);
        else report.failed.push({ controller: c.name, nqn: c.nqn, error: (err as Error).message });
      }
    }
  }
  return report;
}
