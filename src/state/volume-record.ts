/**
 * What the driver remembers about a volume in Redis. RDS stays the truth for disks; the record holds what RDS
 * cannot: the CSI name and parameters (for ALREADY_EXISTS), the lifecycle state and the generation that makes
 * job ids unique per incarnation of a name.
 */
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
  pvcName?: string;
  pvcNamespace?: string;
}

export interface VolumePage {
  records: VolumeRecord[];
  /** Id to continue after; undefined at the end. */
  next?: string;
}

export interface VolumeStore {
  get(id: string): Promise<VolumeRecord | undefined>;
  /** Stores `rec` unless a record with its id exists; returns the stored one either way. */
  claim(rec: VolumeRecord): Promise<{ created: boolean; record: VolumeRecord }>;
  /** Overwrites the record only if its generation is still `gen`; false otherwise. */
  update(rec: VolumeRecord): Promise<boolean>;
  /** Removes the record only if its generation is `gen`. */
  remove(id: string, gen: string): Promise<boolean>;
  /** Records in id order, starting after `after`. */
  page(after: string | undefined, limit: number): Promise<VolumePage>;
  count(): Promise<number>;
}
