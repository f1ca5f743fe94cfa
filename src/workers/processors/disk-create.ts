import type { Processor } from '../context';
import { ensureDisk } from './ensure-disk';

/** disk.create: a new empty disk sized exactly, or a restore/clone (`copy-from`) grown to the request. Not exported. */
export const diskCreate: Processor<'disk.create'> = async (data, ctx) => {
  const disk = await ensureDisk({ slot: data.slot, filePath: data.filePath, sizeBytes: data.sizeBytes, copyFromSlot: data.copyFromSlot }, ctx);
  return { sizeBytes: disk.fileSizeBytes };
};
