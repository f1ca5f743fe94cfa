/**
 * The job catalog (docs/ARCHITECTURE.md#job-catalog) as types: each job name with its payload and its result.
 * Payloads carry everything a processor needs, so a worker never depends on controller memory.
 */
export const VOLUME_QUEUE = 'volumes';

/**
 * One job per CreateVolume: the disk, created already exported over NVMe/TCP with `nqn` and `port`. Both are absent
 * only in a job enqueued by a controller from before the one-job create (a rolling upgrade): then the disk is made
 * unexported and that controller runs target.export after it, as it always did.
 */
export interface DiskCreateData {
  volumeId: string;
  slot: string;
  filePath: string;
  sizeBytes: number;
  /** Restore or clone: the slot of the snapshot or volume whose data the new disk starts with. */
  copyFromSlot?: string;
  nqn?: string;
  port?: number;
  /** The PVC, named in the disk's ownership comment (from CreateVolume's csi.storage.k8s.io/pvc/* parameters). */
  pvc?: { name: string; namespace: string };
}
export interface DiskCreateResult {
  sizeBytes: number;
  /**
   * The export the job made sure of. Absent in the result of a worker from before the one-job create (a rolling
   * upgrade): the controller then runs target.export itself.
   */
  exported?: TargetExportResult;
}

/**
 * Kept for rolling upgrades only: a controller from before the one-job create enqueues it after disk.create (and
 * jobs of it may still be in Redis), and a controller falls back to it when an old worker ran its disk.create. The
 * create path never enqueues it otherwise.
 */
export interface TargetExportData {
  volumeId: string;
  slot: string;
  nqn: string;
  port: number;
}
export interface TargetExportResult {
  nqn: string;
  port: number;
}

/** Also the payload of snapshot.delete, where volumeId is the snapshot id. */
export interface DiskDeleteData {
  volumeId: string;
  slot: string;
  /** Unknown when no record survived: then the disk's own file-path is used (if under the base path). */
  filePath?: string;
  /**
   * The proof that the driver's own DeleteVolume/DeleteSnapshot enqueued this job: the generation of the record it
   * set to 'deleting', or NO_RECORD_GEN when there was no record. The worker checks it against the record as it is
   * now (workers/processors/delete-guard.ts); a job without it, or with a stale one, deletes nothing.
   */
  gen: string;
}

/** DiskDeleteData.gen of a delete that found no record (never created, already deleted, or Redis lost it). */
export const NO_RECORD_GEN = 'adhoc';
export interface DiskDeleteResult {
  removedDisk: boolean;
  removedFile: boolean;
}

export interface SnapshotCreateData {
  /** The source volume: the per-volume lease serializes the copy with the source's other jobs. */
  volumeId: string;
  snapshotId: string;
  slot: string;
  filePath: string;
  sourceSlot: string;
}
export interface SnapshotCreateResult {
  sizeBytes: number;
}

export interface DiskExpandData {
  volumeId: string;
  slot: string;
  sizeBytes: number;
  /** For the ownership comment when the disk is adopted (it predates ownership comments). */
  pvc?: { name: string; namespace: string };
}
export interface DiskExpandResult {
  sizeBytes: number;
}

/** How a publication may share the volume: one node, two for a live migration (RWX block), or many readers. */
export type SharingMode = 'single' | 'migrate' | 'readers';

export interface FenceAttachData {
  volumeId: string;
  nodeId: string;
  slot: string;
  readonly: boolean;
  sharing: SharingMode;
  migrationWindowSeconds: number;
  publishContext: Record<string, string>;
  pvc?: { name: string; namespace: string };
}
export interface FenceAttachResult {
  publishContext: Record<string, string>;
}

export interface FenceDetachData {
  volumeId: string;
  nodeId: string;
  slot: string;
  /** Why: a CO request, or the reconciler clearing a deleted node. */
  reason: 'unpublish' | 'node-deleted';
}
export interface FenceDetachResult {
  detached: boolean;
}

export interface MigrationTimeoutData {
  volumeId: string;
  startedAt: number;
}
export interface MigrationTimeoutResult {
  fired: boolean;
}

export interface ReconcileData {
  volumeId: '';
  /**
   * reconcile.state and reconcile.orphans run once per RDS backend (issue 16): the extra backend this run is for;
   * absent = the primary (every job enqueued before there were backends).
   */
  backend?: string;
}
export interface ReconcileAttachmentsResult {
  rebuilt: number;
  cleared: number;
}

export interface ReconcileStateResult {
  volumes: number;
  snapshots: number;
}

export interface ReconcileOrphansResult {
  disks: number;
  files: number;
  deleted: number;
  /** Why deletion was refused as a whole (Redis looks empty), when it was. */
  refused?: string;
}

export interface JobTypes {
  'disk.create': { data: DiskCreateData; result: DiskCreateResult };
  'target.export': { data: TargetExportData; result: TargetExportResult };
  'disk.delete': { data: DiskDeleteData; result: DiskDeleteResult };
  'disk.expand': { data: DiskExpandData; result: DiskExpandResult };
  'snapshot.create': { data: SnapshotCreateData; result: SnapshotCreateResult };
  'snapshot.delete': { data: DiskDeleteData; result: DiskDeleteResult };
  'fence.attach': { data: FenceAttachData; result: FenceAttachResult };
  'fence.detach': { data: FenceDetachData; result: FenceDetachResult };
  'migration.timeout': { data: MigrationTimeoutData; result: MigrationTimeoutResult };
  'reconcile.attachments': { data: ReconcileData; result: ReconcileAttachmentsResult };
  'reconcile.state': { data: ReconcileData; result: ReconcileStateResult };
  'reconcile.orphans': { data: ReconcileData; result: ReconcileOrphansResult };
}

export type JobName = keyof JobTypes;
export type JobData<N extends JobName> = JobTypes[N]['data'];
export type JobResult<N extends JobName> = JobTypes[N]['result'];

/** Every job has a `volumeId` (a snapshot id for snapshot.delete): the per-volume lease is keyed on it. */
export interface VolumeScoped {
  volumeId: string;
}

/**
 * The leases a job holds while it runs. snapshot.create holds its source volume's and its snapshot's, so neither a
 * change of the source nor a DeleteSnapshot can run in the middle of the copy.
 */
export function leaseKeysOf(name: string, data: VolumeScoped & { backend?: string }): string[] {
  // A reconciler holds one lease of its own (no volume id contains a '.'), so two workers never run the same
  // reconciler at once even when a run outlasts its schedule; the volumes it touches go through their own jobs
  // (fence.detach) or re-check just before acting (orphans).
  // Per backend (issue 16): two backends' runs are independent, one backend's runs still exclusive.
  if (name.startsWith('reconcile.')) return [reconcileKey(name, data.backend)];
  if (name === 'snapshot.create') return [data.volumeId, (data as unknown as SnapshotCreateData).snapshotId].sort();
  return [data.volumeId];
}

/** Deterministic job id: a retry of the same request finds the same job. BullMQ forbids ':' in ids. */
export function jobId(name: JobName, id: string, gen: string): string {
  return `${name}-${id}-${gen}`;
}

/**
 * The lease key and job-id stem of a reconciler's run for `backend` (issue 16): the bare name for the primary (as
 * before there were backends), `<name>@<backend>` for an extra backend, so two backends' runs never dedupe into one.
 */
export function reconcileKey(name: string, backend: string | undefined): string {
  return backend === undefined ? name : `${name}@${backend}`;
}
