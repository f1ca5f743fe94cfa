import type { RecordStore } from './record-store';

/** A snapshot: a `copy-from` disk on RDS that is never exported. */
export interface SnapshotRecord {
  id: string;
  name: string;
  sourceVolumeId: string;
  /** Size of the source at the time of the snapshot; a restore is at least this big. */
  sizeBytes: number;
  state: 'creating' | 'ready' | 'deleting';
  gen: string;
  slot: string;
  filePath: string;
  /** When the snapshot was requested (CSI creation_time). */
  createdAt: string;
  /** The source volume's `encryption` (domain/encryption.ts): a restore must ask for the same. Absent: not encrypted. */
  encryption?: string;
}

export type SnapshotStore = RecordStore<SnapshotRecord>;
