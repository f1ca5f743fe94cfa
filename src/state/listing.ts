/**
 * Read-only listings of the records in Redis: every record of a store (the orphan reconciler and the operator CLI
 * page through them), the volume and snapshot stores by prefix, and the volume records joined with their
 * attachment records (`rds-csi volumes`).
 */
import type { Redis } from 'ioredis';
import type { AttachmentRecord } from './attachment-record';
import type { RecordStore, StoredRecord } from './record-store';
import { driverState } from './stores';
import type { SnapshotRecord } from './snapshot-record';
import type { VolumeRecord } from './volume-record';

/** The volume records in Redis (kind `vol`) joined with their attachment records. Read-only. */

export interface VolumeView {
  volume: VolumeRecord;
  /** Nodes the volume is published to (and a live migration, if one is under way). */
  attachment?: AttachmentRecord;
}

/** Every record of a store, in id order. */
export async function allRecords<T extends StoredRecord>(store: RecordStore<T>, pageSize = 500): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.page(after, pageSize);
    out.push(...page.records);
    if (!page.next) return out;
    after = page.next;
  }
}

export function volumeStore(redis: Redis, prefix: string): RecordStore<VolumeRecord> {
  return driverState(redis, prefix).volumes;
}

export function snapshotStore(redis: Redis, prefix: string): RecordStore<SnapshotRecord> {
  return driverState(redis, prefix).snapshots;
}

export async function listVolumes(redis: Redis, prefix: string): Promise<VolumeView[]> {
  const [volumes, attachments] = await Promise.all([allRecords(volumeStore(redis, prefix)), driverState(redis, prefix).attachments.all()]);
  const byVolume = new Map(attachments.map((a) => [a.volumeId, a]));
  return volumes.map((volume) => {
    const attachment = byVolume.get(volume.id);
    return attachment ? { volume, attachment } : { volume };
  });
}
