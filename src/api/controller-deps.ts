import type { CapacityLimits } from '../domain/sizes';
import type { BackendTopology } from '../domain/topology';
import type { RdsPort } from '../rds/port';
import type { EventSink, NodeRegistry } from '../cluster/ports';
import type { AttachmentStore } from '../state/attachment-record';
import type { SnapshotStore } from '../state/snapshot-record';
import type { VolumeStore } from '../state/volume-record';
import type { SnapshotOperations } from './snapshot-operations';
import type { VolumeOperations, VolumeOperationsOptions } from './volume-operations';
import type { TargetInfo } from './volume-view';

/** Everything the Controller service's handlers need, handed in by the composition root (runtime/controller-app). */
export interface ControllerDeps {
  ops: VolumeOperations;
  opsOptions: VolumeOperationsOptions;
  snapOps: SnapshotOperations;
  store: VolumeStore;
  snapshots: SnapshotStore;
  rds: RdsPort;
  limits: CapacityLimits;
  volumePrefix: string;
  basePath: string;
  target: TargetInfo;
  /** The RDS's topology segment: every volume is accessible from it, GetCapacity answers for it. */
  topology: BackendTopology;
  attachments: AttachmentStore;
  cluster: { nodes: NodeRegistry };
  events: EventSink;
  defaultMigrationWindowSeconds: number;
  deadlineMarginMs: number;
  defaultWaitMs: number;
}
