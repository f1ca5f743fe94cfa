import { Failure } from '../../domain/failure';
import { isUnder } from '../../domain/ids';
import type { DiskDeleteData, DiskDeleteResult } from '../../queue/jobs';
import { type Processor, type ProcessorContext } from '../context';
import { checkDeleteProof, type DeleteKind } from './delete-guard';

/**
 * disk.delete: remove the disk item, then its backing file (`/disk remove` keeps the file: the previous driver
 * leaked storage that way). Missing disk or file = already done. Only files under the base path are touched.
 */
export const diskDelete: Processor<'disk.delete'> = (data, ctx) => deleteDisk('volume', data, ctx);

/** snapshot.delete: a snapshot is a disk that is never exported; deleting it is deleting a disk and its file. */
export const snapshotDelete: Processor<'snapshot.delete'> = (data, ctx) => deleteDisk('snapshot', data, ctx);

async function deleteDisk(
  kind: DeleteKind,
  data: DiskDeleteData,
  ctx: ProcessorContext<'disk.delete' | 'snapshot.delete'>,
): Promise<DiskDeleteResult> {
  const { rds, basePath, log } = ctx;
  await checkDeleteProof(kind, data, ctx);
  if (data.filePath !== undefined && !isUnder(basePath, data.filePath)) {
    throw new Failure('invalid', `refusing to delete ${data.filePath}: not under the base path ${basePath}`);
  }
  let removedDisk = false;
  const disk = await rds.getDisk(data.slot);
  // Without a record the disk's own file is the one to remove, if it is ours to touch.
  const filePath = data.filePath ?? (disk && isUnder(basePath, disk.filePath) ? disk.filePath : undefined);
  if (disk) {
    if (disk.filePath !== filePath) {
      throw new Failure(
        'precondition',
        `disk ${data.slot} uses ${disk.filePath}, not ${filePath ?? `a file under ${basePath}`}; refusing to delete a disk the driver did not create`,
      );
    }
    await rds.removeDisk(disk.id);
    removedDisk = true;
  }
  let removedFile = false;
  if (filePath !== undefined && removedDisk) {
    // The file-path of the disk just removed is a file: removed by name, so a delete is /disk/print, /disk/remove,
    // /file/remove = 3 commands (RouterOsRds.removeFileAt falls back to a look-up where names do not resolve).
    removedFile = await rds.removeFileAt(filePath);
  } else if (filePath !== undefined) {
    // No disk (a retry, or never created): only a file, never a directory that happens to have the name, is removed.
    const file = await rds.getFile(filePath);
    if (file) {
      await rds.removeFile(file.id);
      removedFile = true;
    }
  }
  log.info({ slot: data.slot, removedDisk, removedFile }, 'volume deleted from RDS');
  return { removedDisk, removedFile };
}
