import { Failure } from '../../domain/failure';
import { type Processor } from '../context';

/** target.export: turn on the disk's NVMe/TCP export with our NQN and port. Already exported the same way = done. */
export const targetExport: Processor<'target.export'> = async (data, { rds, log }) => {
  const disk = await rds.getDisk(data.slot);
  if (!disk) {
    throw new Failure('not-found', `disk ${data.slot} is gone from RDS before it could be exported; retry CreateVolume`);
  }
  if (disk.nvmeTcpExport && disk.nvmeTcpNqn === data.nqn && disk.nvmeTcpPort === data.port) {
    return { nqn: data.nqn, port: data.port };
  }
  await rds.setExport(disk.id, { nqn: data.nqn, port: data.port });
  log.info({ slot: data.slot, nqn: data.nqn, port: data.port }, 'disk exported over NVMe/TCP');
  return { nqn: data.nqn, port: data.port };
};
