import { randomUUID } from 'node:crypto';
import { isSnapshotId, isUnder, isVolumeId, nqnFor, volumeNameOf } from '../../domain/ids';
import type { Processor } from '../context';

/**
 * reconcile.state (at start-up when Redis holds no records — fresh or lost): rebuild volume and snapshot records
 * from the disks on RDS under the base path whose slots are ids of ours. RDS keeps no CSI name or parameters, so
 * a rebuilt volume is marked `rebuilt` and the next CreateVolume for it adopts its own; `pvc-<uuid>` names map to
 * themselves, so those come back whole. Records are only ever added (claim), never overwritten.
 */
export const reconcileState: Processor<'reconcile.state'> = async (_data, ctx) => {
  const { records } = ctx;
  if ((await records.volumes.count()) > 0 || (await records.snapshots.count()) > 0) return { volumes: 0, snapshots: 0 };
  let volumes = 0;
  let snapshots = 0;
  const now = new Date().toISOString();
  for (const disk of await ctx.rds.listDisks()) {
    if (!isUnder(ctx.basePath, disk.filePath)) continue; // never adopt anything outside the base path
    const gen = randomUUID().slice(0, 8);
    if (isVolumeId(disk.slot, ctx.volumePrefix)) {
      const name = volumeNameOf(disk.slot, ctx.volumePrefix);
      const { created } = await records.volumes.claim({
        id: disk.slot,
        name,
        capacityBytes: disk.fileSizeBytes,
        accessType: 'mount',
        paramsKey: '',
        context: {},
        state: disk.nvmeTcpExport ? 'ready' : 'creating',
        gen,
        slot: disk.slot,
        filePath: disk.filePath,
        nqn: disk.nvmeTcpNqn || nqnFor(ctx.nqnPrefix, disk.slot),
        createdAt: now,
        rebuilt: true,
      });
      if (created) volumes++;
    } else if (isSnapshotId(disk.slot, ctx.volumePrefix) && !disk.nvmeTcpExport) {
      const { created } = await records.snapshots.claim({
        id: disk.slot,
        name: '',
        sourceVolumeId: '',
        sizeBytes: disk.fileSizeBytes,
        state: 'ready',
        gen,
        slot: disk.slot,
        filePath: disk.filePath,
        createdAt: now,
      });
      if (created) snapshots++;
    }
  }
  ctx.metrics.reconcile('records-rebuilt', volumes + snapshots);
  ctx.log.warn({ volumes, snapshots }, 'Redis held no records: rebuilt them from RDS');
  return { volumes, snapshots };
};
