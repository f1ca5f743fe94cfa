/**
 * Storage-side fencing: the disk's nvme-tcp-server-allow-host-name follows the attachments (the host NQNs of the
 * attached nodes, comma-separated; empty would let everyone in, so a disk with no attachment gets a placeholder
 * that matches no host). RouterOS's exact semantics are not documented; this runs only when enabled.
 */
import { Failure } from '../../domain/failure';
import { type BaseContext, type FencingContext } from '../context';
import type { PvcRef } from '../../cluster/ports';
import { adoptOwner } from './adopt-owner';

export const NO_HOST = 'rds-csi:no-host-attached';

export async function syncAllowedHosts(ctx: BaseContext & { fencing: FencingContext }, slot: string, nodeIds: string[], pvc?: PvcRef): Promise<void> {
  const f = ctx.fencing;
  const disk = await ctx.rds.getDisk(slot);
  if (!disk) throw new Failure('not-found', `disk ${slot} does not exist on RDS`);
  // The disk is read here anyway: a disk from before ownership comments is adopted (one /disk set, only then).
  if (pvc) await adoptOwner(ctx, disk, pvc);
  const value = nodeIds.length
    ? nodeIds
        .map((n) => f.hostNqn(n))
        .sort()
        .join(',')
    : NO_HOST;
  if (disk.allowHostName !== value) await ctx.rds.setAllowedHosts(disk.id, value);
}
