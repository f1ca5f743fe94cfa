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

/**
 * Every record of a store, in id order, one page at a time: `fn` sees each page and may keep what it needs of it,
 * so a caller that needs a field or two of every record never holds all the records at once. Returns the count.
 */
export async function forEachPage<T extends StoredRecord>(store: RecordStore<T>, fn: (records: T[]) => void, pageSize = 500): Promise<number> {
  let after: string | undefined;
  let n = 0;
  for (;;) {
    const page = await store.page(after, pageSize);
    fn(page.records);
    n += page.records.length;
    if (!page.next) return n;
    after = page.next;
  }
}

/** Every record of a store, in id order (all in memory: for callers that really need every record whole). */
export async function allRecords<T extends StoredRecord>(store: RecordStore<T>, pageSize = 500): Promise<T[]> {
  const out: T[] = [];
  await forEachPage(store, (records) => out.push(...records), pageSize);
  return out;
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
