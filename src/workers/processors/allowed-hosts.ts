/**
 * Storage-side fencing: the disk's nvme-tcp-server-allow-host-name follows the attachments (the host NQNs of the
 * attached nodes, comma-separated; empty would let everyone in, so a disk with no attachment gets a placeholder
 * that matches no host). RouterOS's exact semantics are not documented; this runs only when enabled.
 */
import { status } from '@grpc/grpc-js';
import { PermanentError, fencingOf, type ProcessorContext } from '../context';

export const NO_HOST = 'rds-csi:no-host-attached';

export async function syncAllowedHosts(ctx: ProcessorContext, slot: string, nodeIds: string[]): Promise<void> {
  const f = fencingOf(ctx);
  const disk = await ctx.rds.getDisk(slot);
  if (!disk) throw new PermanentError(status.NOT_FOUND, `disk ${slot} does not exist on RDS`);
  const value = nodeIds.length ? nodeIds.map((n) => f.hostNqn(n)).sort().join(',') : NO_HOST;
  if (disk.allowHostName !== value) await ctx.rds.setAllowedHosts(disk.id, value);
}
