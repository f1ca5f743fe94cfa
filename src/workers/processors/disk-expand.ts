import { Failure } from '../../domain/failure';
import { type Processor } from '../context';
import { adoptOwner } from './adopt-owner';

/** disk.expand: grow `file-size`, never shrink; already large enough = done. Returns the size RDS reports. */
export const diskExpand: Processor<'disk.expand'> = async (data, ctx) => {
  const { rds, log } = ctx;
  const disk = await rds.getDisk(data.slot);
  if (!disk) throw new Failure('not-found', `disk ${data.slot} does not exist on RDS`);
  await adoptOwner(ctx, disk, data.pvc);
  if (disk.fileSizeBytes >= data.sizeBytes) return { sizeBytes: disk.fileSizeBytes };
  await rds.resizeDisk(disk.id, data.sizeBytes);
  const grown = await rds.getDisk(data.slot);
  if (!grown) throw new Failure('not-found', `disk ${data.slot} vanished while growing it`);
  log.info({ slot: data.slot, from: disk.fileSizeBytes, to: grown.fileSizeBytes }, 'disk grown');
  return { sizeBytes: grown.fileSizeBytes };
};
