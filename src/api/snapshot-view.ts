import type { Snapshot } from '../generated/csi/v1/Snapshot';
import type { SnapshotRecord } from '../state/snapshot-record';

/** A snapshot record as CSI shows it: ready_to_use only once the copy completed. */
export function toCsiSnapshot(rec: SnapshotRecord): Snapshot {
  const ms = Date.parse(rec.createdAt);
  return {
    snapshotId: rec.id,
    sourceVolumeId: rec.sourceVolumeId,
    sizeBytes: String(rec.sizeBytes),
    creationTime: { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 },
    readyToUse: rec.state === 'ready',
  };
}
