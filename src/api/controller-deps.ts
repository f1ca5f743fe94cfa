import type { CapacityLimits } from '../domain/sizes';
import type { BackendTopology } from '../domain/topology';
import type { RdsPort } from '../rds/port';
import type { EventSink, NodeRegistry } from '../cluster/ports';
import type { AttachmentStore } from '../state/attachment-record';
import type { SnapshotStore } from '../state/snapshot-record';
import type { VolumeStore } from '../state/volume-record';
import type { SnapshotOperations } from './snapshot-operations';
import type { VolumeOperations } from './volume-operations';
import type { TargetInfo } from './volume-view';
import type { VolumeHealth } from './volume-health';

/**
 * Everything the Controller service's handlers need, handed in by the composition root (runtime/controller-app),
 * each thing once: mutations go through `ops`/`snapOps` (the queue side), reads go to the stores and RDS.
 */
export interface ControllerDeps {
  ops: VolumeOperations;
  snapOps: SnapshotOperations;
  store: VolumeStore;
  snapshots: SnapshotStore;
  attachments: AttachmentStore;
  rds: RdsPort;
  /** Volume conditions from RDS for ListVolumes and ControllerGetVolume (volume-health.ts). */
  health: VolumeHealth;
  nodes: NodeRegistry;
  events: EventSink;
  limits: CapacityLimits;
  volumePrefix: string;
  basePath: string;
  target: TargetInfo;
  /** The RDS's topology segment: every volume is accessible from it, GetCapacity answers for it. */
  topology: BackendTopology;
  defaultMigrationWindowSeconds: number;
  deadlineMarginMs: number;
  defaultWaitMs: number;
}
