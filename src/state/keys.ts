/**
 * Every Redis key the driver builds itself, in one place (BullMQ's own keys come from its QueueKeys; this is the
 * same idea for ours). All of them start with the queue prefix (cfg.queuePrefix), so a hash-tag prefix keeps the
 * driver's keys and BullMQ's in one Cluster slot (queue/connection.ts):
 *
 *   <prefix>:state:vol:<id>          a volume record (JSON)           state/redis-record-store.ts
 *   <prefix>:state:vols              the volume ids, sorted (ZSET)    state/redis-record-store.ts
 *   <prefix>:state:snap:<id>         a snapshot record (JSON)
 *   <prefix>:state:snaps             the snapshot ids, sorted (ZSET)
 *   <prefix>:state:attachments       attachment records (HASH)        state/redis-attachment-store.ts
 *   <prefix>:state:orphans-seen      first sighting of each orphan    state/orphan-sightings.ts
 *   <prefix>:lease:vol:<id>          a per-volume (or reconciler) lease, value = the holding job id (queue/lease.ts)
 */

/** The record kinds: volumes (`vol`) and snapshots (`snap`). */
export type RecordKind = 'vol' | 'snap';

export class DriverKeys {
  constructor(readonly prefix: string) {}

  /** One record of `kind`. */
  record(kind: RecordKind, id: string): string {
    return `${this.prefix}:state:${kind}:${id}`;
  }

  /** The lexically sorted index of the ids of `kind` (List* pagination, counts). */
  recordIndex(kind: RecordKind): string {
    return `${this.prefix}:state:${kind}s`;
  }

  get attachments(): string {
    return `${this.prefix}:state:attachments`;
  }

  get orphanSightings(): string {
    return `${this.prefix}:state:orphans-seen`;
  }

  /** The lease of one volume, snapshot or reconciler (queue/jobs.ts leaseKeysOf names it). */
  lease(name: string): string {
    return `${this.prefix}:lease:vol:${name}`;
  }
}
