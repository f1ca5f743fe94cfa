/**
 * What the driver remembers about a volume in Redis. RDS stays the truth for disks; the record holds what RDS
 * cannot: the CSI name and parameters (for ALREADY_EXISTS), the lifecycle state and the generation that makes
 * job ids unique per incarnation of a name.
 */
import type { RecordStore } from './record-store';

export type VolumeState = 'creating' | 'ready' | 'deleting';
export type AccessType = 'block' | 'mount';

export interface VolumeRecord {
  id: string;
  name: string;
  capacityBytes: number;
  accessType: AccessType;
  /** Canonical form of the parameters that decide compatibility (see api/validate.ts). */
  paramsKey: string;
  /** Parameters echoed in volume_context (never secrets). */
  context: Record<string, string>;
  state: VolumeState;
  /** Random per incarnation; part of every job id of this volume. */
  gen: string;
  slot: string;
  filePath: string;
  nqn: string;
  createdAt: string;
  /** Set when the volume was made from a snapshot or another volume; echoed as content_source. */
  source?: { kind: 'snapshot' | 'volume'; id: string };
  /**
   * Rebuilt from RDS after Redis lost the records: the CSI name, parameters and access type were not on RDS. The
   * first CreateVolume with this id adopts its own; until then access-type checks are lenient.
   */
  rebuilt?: boolean;
  pvcName?: string;
  pvcNamespace?: string;
}

export type VolumeStore = RecordStore<VolumeRecord>;
