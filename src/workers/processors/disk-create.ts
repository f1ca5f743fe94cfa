import type { Processor } from '../context';
import { NO_HOST } from './allowed-hosts';
import { ensureDisk } from './ensure-disk';

/**
 * disk.create: the whole CreateVolume on RDS in one job (issue 14): a new empty disk sized exactly, or a restore or
 * clone (`copy-from`) grown to the request, exported over NVMe/TCP with the volume's NQN and port. With storage-side
 * fencing a new disk allows no host until ControllerPublishVolume names one (allowed-hosts.ts); without it the
 * allowed hosts are left as RouterOS makes them. A job without nqn/port (enqueued by an older controller) only
 * creates the disk, as that controller expects, and says so by returning no `exported`.
 */
export const diskCreate: Processor<'disk.create'> = async (data, ctx) => {
  const exportAs =
    data.nqn !== undefined && data.port !== undefined
      ? { nqn: data.nqn, port: data.port, allowHostName: ctx.storageSide ? NO_HOST : undefined }
      : undefined;
  const disk = await ensureDisk(
    { slot: data.slot, filePath: data.filePath, sizeBytes: data.sizeBytes, copyFromSlot: data.copyFromSlot, exportAs, pvc: data.pvc },
    ctx,
  );
  return exportAs ? { sizeBytes: disk.fileSizeBytes, exported: { nqn: exportAs.nqn, port: exportAs.port } } : { sizeBytes: disk.fileSizeBytes };
};
