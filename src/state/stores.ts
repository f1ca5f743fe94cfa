import type { Redis } from 'ioredis';
import type { AttachmentStore } from './attachment-record';
import { DriverKeys } from './keys';
import { OrphanSightings } from './orphan-sightings';
import { RedisAttachmentStore } from './redis-attachment-store';
import { RedisRecordStore, type ReplicaWait } from './redis-record-store';
import type { SnapshotRecord, SnapshotStore } from './snapshot-record';
import type { VolumeRecord, VolumeStore } from './volume-record';

/** The driver's state in Redis: every store, on one connection and one key prefix. */
export interface DriverState {
  volumes: VolumeStore;
  snapshots: SnapshotStore;
  attachments: AttachmentStore;
  sightings: OrphanSightings;
}

/**
 * The one factory of the record stores. `replicaWait` (cfg.redis.waitReplicas, queue/connection.ts replicaWait)
 * applies to the volume and snapshot records; readers (the operator CLI) leave it at none.
 */
export function driverState(redis: Redis, prefix: string, replicaWait?: ReplicaWait): DriverState {
  const keys = new DriverKeys(prefix);
  return {
    volumes: new RedisRecordStore<VolumeRecord>(redis, keys, 'vol', replicaWait),
    snapshots: new RedisRecordStore<SnapshotRecord>(redis, keys, 'snap', replicaWait),
    attachments: new RedisAttachmentStore(redis, keys),
    sightings: new OrphanSightings(redis, keys),
  };
}
