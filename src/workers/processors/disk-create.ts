import { status } from '@grpc/grpc-js';
import { isUnder } from '../../domain/ids';
import { PermanentError, type Processor } from '../context';

/**
 * disk.create: `/disk add type=file` sized exactly, not yet exported. Idempotent: a disk already in the slot with
 * this backing file and at least this size is the result of an earlier attempt. A backing file without a disk is
 * never reused: it may hold an earlier volume's data.
 */
export const diskCreate: Processor<'disk.create'> = async (data, { rds, basePath, log }) => {
  if (!isUnder(basePath, data.filePath)) {
    throw new PermanentError(status.INVALID_ARGUMENT, `backing file ${data.filePath} is not under the base path ${basePath}`);
  }
  const existing = await rds.getDisk(data.slot);
  if (existing) {
    if (existing.filePath !== data.filePath) {
      throw new PermanentError(
        status.ALREADY_EXISTS,
        `RDS slot ${data.slot} is already used by a disk with file ${existing.filePath}; expected ${data.filePath}. Inspect it with /disk print`,
      );
    }
    if (existing.fileSizeBytes < data.sizeBytes) {
      throw new PermanentError(status.ALREADY_EXISTS, `disk ${data.slot} exists with ${existing.fileSizeBytes} bytes, smaller than the requested ${data.sizeBytes}`);
    }
    log.info({ slot: data.slot }, 'disk already exists; nothing to create');
    return { sizeBytes: existing.fileSizeBytes };
  }
  const leftover = await rds.getFile(data.filePath);
  if (leftover) {
    throw new PermanentError(
      status.FAILED_PRECONDITION,
      `backing file ${data.filePath} exists on RDS without a disk (left over from an earlier volume?); it is never reused. ` +
        'Check its contents, then remove it (/file remove) and retry',
    );
  }
  const pool = await rds.poolCapacity();
  if (pool.freeBytes < data.sizeBytes) {
    throw new PermanentError(
      status.RESOURCE_EXHAUSTED,
      `RDS pool has ${pool.freeBytes} bytes free, ${data.sizeBytes} requested; free space on the pool or request less`,
    );
  }
  const disk = await rds.addDisk({ slot: data.slot, filePath: data.filePath, fileSizeBytes: data.sizeBytes });
  log.info({ slot: data.slot, sizeBytes: disk.fileSizeBytes }, 'disk created');
  return { sizeBytes: disk.fileSizeBytes };
};
