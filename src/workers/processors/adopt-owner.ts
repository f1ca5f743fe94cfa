/**
 * Adoption of a disk made before ownership comments (issue 15 item 3): the next operation of this driver that reads
 * the disk anyway (a create retry, expand, publish/unpublish with storage-side fencing) sets its `comment` with one
 * `/disk set`, and only when the disk has no comment at all: a comment of another cluster or an operator's note is
 * never overwritten. Without a configured owner (direct callers outside a worker) nothing is written.
 */
import { encodeOwner } from '../../domain/ownership';
import type { PvcRef } from '../../cluster/ports';
import type { RdsDisk } from '../../rds/port';
import type { BaseContext } from '../context';

export async function adoptOwner(ctx: BaseContext, disk: RdsDisk, pvc: PvcRef | undefined): Promise<RdsDisk> {
  if (!ctx.owner || disk.comment) return disk;
  const comment = encodeOwner(ctx.owner, pvc);
  await ctx.rds.setComment(disk.id, comment);
  ctx.log.info({ slot: disk.slot, comment }, 'disk adopted: ownership comment set');
  return { ...disk, comment };
}

/** The comment of a disk this driver creates now (undefined without a configured owner). */
export function ownerComment(ctx: BaseContext, pvc: PvcRef | undefined): string | undefined {
  return ctx.owner ? encodeOwner(ctx.owner, pvc) : undefined;
}
