/**
 * Before disk.delete or snapshot.delete removes anything: the job must come from the driver's own DeleteVolume or
 * DeleteSnapshot, not from a payload someone put on the queue (the dashboard's "add", a script with queue access).
 * The proof is the record as it is now, in Redis:
 * - a record of the thing exists: it must be in state 'deleting' (only the API sets that) with the job's
 *   generation, and the job's slot and file must be the record's;
 * - no record: the job must say so (NO_RECORD_GEN), name the thing's own slot and file, and the slot must be no
 *   other record's (a volume's or a snapshot's);
 * - either way, nothing may be attached to the volume (an attachment record with a node).
 * Anything else fails at once with FAILED_PRECONDITION and nothing is deleted.
 */
import { Failure } from '../../domain/failure';
import { backingFilePath } from '../../domain/ids';
import { placedId, splitId } from '../../domain/backend-id';
import { NO_RECORD_GEN, type DiskDeleteData } from '../../queue/jobs';
import { type BaseContext, type DeleteDeps } from '../context';

export type DeleteKind = 'volume' | 'snapshot';

function refuse(kind: DeleteKind, data: DiskDeleteData, why: string): Failure {
  return new Failure('precondition', `refusing to delete ${kind} ${String(data.volumeId)} (slot ${String(data.slot)}): ${why}; nothing was deleted`);
}

export async function checkDeleteProof(kind: DeleteKind, data: DiskDeleteData, ctx: Pick<BaseContext, 'basePath'> & DeleteDeps): Promise<void> {
  const { records, attachments } = ctx;
  if (typeof data.volumeId !== 'string' || typeof data.slot !== 'string' || !data.volumeId || !data.slot)
    throw refuse(kind, data, 'the job names no volume or slot');
  if (typeof data.gen !== 'string' || !data.gen) throw refuse(kind, data, 'the job carries no generation: it was not enqueued by the driver');
  // On an extra backend B (issue 16) the id is `<slot>@<B>`: its own slot is the part before the mark, and a slot's
  // record on this backend has the id `<slot>@<B>` (a record of the same slot on another RDS is not this disk's).
  const placed = splitId(data.volumeId);
  if (!placed) throw refuse(kind, data, 'its id names no valid backend');
  const slotId = placedId(data.slot, placed.backend, '');
  const own = kind === 'volume' ? records.volumes : records.snapshots;
  const other = kind === 'volume' ? records.snapshots : records.volumes;
  const record = await own.get(data.volumeId);
  if (record) {
    if (data.gen !== record.gen) throw refuse(kind, data, `its generation ${data.gen} is not the record's (${record.gen})`);
    if (record.state !== 'deleting') throw refuse(kind, data, `the record is '${record.state}', not 'deleting'`);
    if (data.slot !== record.slot || (data.filePath !== undefined && data.filePath !== record.filePath)) {
      throw refuse(kind, data, `the job's slot or file is not the record's (${record.slot}, ${record.filePath})`);
    }
  } else {
    if (data.gen !== NO_RECORD_GEN) throw refuse(kind, data, `its generation ${data.gen} is stale: there is no record`);
    if (data.slot !== placed.slot) throw refuse(kind, data, "without a record only the id's own slot may be deleted");
    if (data.filePath !== undefined && data.filePath !== backingFilePath(ctx.basePath, placed.slot)) {
      throw refuse(kind, data, "without a record only the id's own backing file may be deleted");
    }
  }
  const foreign = (await other.get(slotId)) ?? (slotId === data.volumeId ? undefined : await own.get(slotId));
  if (foreign) throw refuse(kind, data, `slot ${data.slot} belongs to the record of ${foreign.id}`);
  for (const id of new Set([data.volumeId, slotId])) {
    const att = await attachments.get(id);
    const nodes = Object.keys(att?.nodes ?? {});
    if (nodes.length > 0) throw refuse(kind, data, `it is attached to ${nodes.join(', ')}`);
  }
}
