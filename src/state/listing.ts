/**
 * Read-only listings of the records in Redis: every record of a store (the orphan reconciler and the operator CLI
 * page through them), the volume and snapshot stores by prefix, and the volume records joined with their
 * attachment records (`rds-csi volumes`).
 */
import type { Redis } from 'ioredis';
import type { AttachmentRecord } from './attachment-record';
import { RedisAttachmentStore } from './redis-attachment-store';
import type { RecordStore, StoredRecord } from './record-store';
import { RedisRecordStore } from './redis-record-store';
import type { SnapshotRecord } from './snapshot-record';
import type { VolumeRecord } from './volume-record';

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
  return new RedisRecordStore<VolumeRecord>(redis, prefix, 'vol');
}

export function snapshotStore(redis: Redis, prefix: string): RecordStore<SnapshotRecord> {
  return new RedisRecordStore<SnapshotRecord>(redis, prefix, 'snap');
}

export async function listVolumes(redis: Redis, prefix: string): Promise<VolumeView[]> {
  const [volumes, attachments] = await Promise.all([allRecords(volumeStore(redis, prefix)), new RedisAttachmentStore(redis, prefix).all()]);
  const byVolume = new Map(attachments.map((a) => [a.volumeId, a]));
  return volumes.map((volume) => {
    const attachment = byVolume.get(volume.id);
    return attachment ? { volume, attachment } : { volume };
  });
}
