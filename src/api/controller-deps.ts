import type { CapacityLimits } from '../domain/sizes';
import type { Backend, RdsBackends } from '../rds/backends';
import type { PoolCapacity } from '../rds/port';
import type { EventSink, NodeRegistry } from '../cluster/ports';
import type { AttachmentStore } from '../state/attachment-record';
import type { SnapshotStore } from '../state/snapshot-record';
import type { VolumeStore } from '../state/volume-record';
import type { SnapshotOperations } from './snapshot-operations';
import type { VolumeOperations } from './volume-operations';
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
  /** Every RDS (issue 16): a volume's backend is named by its id (src/api/backend-of.ts); one = today's driver. */
  backends: RdsBackends;
  /** A backend's pool reading through a short-lived cache (rds.statusCacheMs): placement and health read this. */
  poolOf(backend: Backend): Promise<PoolCapacity>;
  /** The topology keys are under it (src/domain/topology.ts). */
  driverName: string;
  /** Volume conditions from RDS for ListVolumes and ControllerGetVolume (volume-health.ts). */
  health: VolumeHealth;
  nodes: NodeRegistry;
  events: EventSink;
  limits: CapacityLimits;
  volumePrefix: string;
  defaultMigrationWindowSeconds: number;
  deadlineMarginMs: number;
  defaultWaitMs: number;
}
