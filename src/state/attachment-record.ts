/**
 * Where a volume is published (ControllerPublishVolume) and whether a live migration is under way. Written only
 * by fence.* and migration.timeout jobs, which the per-volume lease serializes; read by the API for
 * ListVolumes/ControllerGetVolume. Rebuilt from VolumeAttachments when Redis lost it.
 */
export interface NodeAttachment {
  readonly: boolean;
  attachedAt: string;
  publishContext: Record<string, string>;
}

export interface Migration {
  from: string;
  to: string;
  /** ms since epoch; also names the migration.timeout job. */
  startedAt: number;
  windowSeconds: number;
  /** Set when the window expired with both nodes attached: no new attachment until one side detaches. */
  timedOut?: boolean;
}

export interface AttachmentRecord {
  volumeId: string;
  nodes: Record<string, NodeAttachment>;
  migration?: Migration;
  /** PVC for events (from the volume record). */
  pvc?: { name: string; namespace: string };
}

export interface AttachmentStore {
  get(volumeId: string): Promise<AttachmentRecord | undefined>;
  /** Stores the record, or removes it when no node is attached. */
  put(rec: AttachmentRecord): Promise<void>;
  /** The records of these volumes only (absent ones left out): one page of ListVolumes, not every attachment. */
  getMany(volumeIds: string[]): Promise<AttachmentRecord[]>;
  all(): Promise<AttachmentRecord[]>;
  count(): Promise<number>;
}
