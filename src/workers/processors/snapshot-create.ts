import type { Processor } from '../context';
import { ensureDisk } from './ensure-disk';

/** snapshot.create: a `copy-from` disk of the source volume, never exported. Ready when the copy completed. */
export const snapshotCreate: Processor<'snapshot.create'> = async (data, ctx) => {
  const disk = await ensureDisk({ slot: data.slot, filePath: data.filePath, copyFromSlot: data.sourceSlot }, ctx);
  return { sizeBytes: disk.fileSizeBytes };
};
