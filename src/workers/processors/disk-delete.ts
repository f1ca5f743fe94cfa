import { status } from '@grpc/grpc-js';
import { isUnder } from '../../domain/ids';
import { PermanentError, type Processor } from '../context';

/**
 * disk.delete: remove the disk item, then its backing file (`/disk remove` keeps the file: the previous driver
 * leaked storage that way). Missing disk or file = already done. Only files under the base path are touched.
 */
export const diskDelete: Processor<'disk.delete'> = async (data, { rds, basePath, log }) => {
  if (!isUnder(basePath, data.filePath)) {
    throw new PermanentError(status.INVALID_ARGUMENT, `refusing to delete ${data.filePath}: not under the base path ${basePath}`);
  }
  let removedDisk = false;
  const disk = await rds.getDisk(data.slot);
  if (disk) {
    if (disk.filePath !== data.filePath) {
      throw new PermanentError(
        status.FAILED_PRECONDITION,
        `disk ${data.slot} uses ${disk.filePath}, not ${data.filePath}; refusing to delete a disk the driver did not create`,
      );
    }
    await rds.removeDisk(disk.id);
    removedDisk = true;
  }
  let removedFile = false;
  const file = await rds.getFile(data.filePath);
  if (file) {
    await rds.removeFile(file.id);
    removedFile = true;
  }
  log.info({ slot: data.slot, removedDisk, removedFile }, 'volume deleted from RDS');
  return { removedDisk, removedFile };
};
