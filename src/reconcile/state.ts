/**
 * State reconciliation: rebuild the volume and snapshot records from the disks on RDS after Redis lost them (or on
 * a fresh Redis). Only disks under the base path whose slots are ids of ours are adopted. RDS keeps no CSI name or
 * parameters, so a rebuilt volume is marked `rebuilt` and the next CreateVolume for it adopts its own; `pvc-<uuid>`
 * names map to themselves, so those come back whole. Records are only ever added (claim), never overwritten, and
 * nothing happens while Redis holds any record of the backend's volumes. Run by the reconcile.state job at worker
 * start-up, once per RDS backend (issue 16): a disk on an extra backend B comes back as `<slot>@<B>`.
 *
 * Ownership (issue 15 item 3): a disk whose comment names another cluster (or driver) is never rebuilt here; the
 * PVC a disk's comment names becomes the record's PVC again (for events and `rds-csi volumes list`). A disk with no
 * ownership comment (made before them) is rebuilt as before, and adopted by its next operation.
 */
import { randomUUID } from 'node:crypto';
import { isSnapshotId, isUnder, isVolumeId, nqnFor, volumeNameOf } from '../domain/ids';
import type { RdsPort } from '../rds/port';
import type { RecordStore, StoredRecord } from '../state/record-store';
import type { SnapshotRecord } from '../state/snapshot-record';
import type { VolumeRecord } from '../state/volume-record';
import { ownershipOf, parseOwner, type DiskOwner } from '../domain/ownership';
import { placedId, splitId } from '../domain/backend-id';

export interface StateSources {
  rds: Pick<RdsPort, 'listDisks'>;
  volumes: RecordStore<VolumeRecord>;
  snapshots: RecordStore<SnapshotRecord>;
}

export interface StateScope {
  /** cfg.rds.basePath: nothing outside it is adopted. */
  basePath: string;
  /** cfg.volumePrefix: the ids (and slots) the driver owns. */
  volumePrefix: string;
  /** The NQN prefix, for a disk that reports no NQN of its own. */
  nqnPrefix: string;
  /** This driver and cluster: disks owned by others are skipped. Absent = every disk is considered (as before). */
  owner?: DiskOwner;
  /**
   * The extra backend `src.rds` is (issue 16): its records get the ids `<slot>@<backend>`. Absent = the primary,
   * whose ids are the bare slots.
   */
  backend?: string;
}

/**
 * Whether Redis holds a record of a volume or snapshot on `backend` (absent = the primary). Each backend is rebuilt
 * on its own, so the first backend's rebuild does not make the next one's look done.
 */
async function holdsRecordsOf<T extends StoredRecord>(store: RecordStore<T>, backend: string | undefined): Promise<boolean> {
  if ((await store.count()) === 0) return false;
  let after: string | undefined;
  do {
    const page = await store.page(after, 500);
    if (page.records.some((r) => splitId(r.id)?.backend === backend)) return true;
    after = page.next;
  } while (after);
  return false;
}

/** How many records were rebuilt; undefined when Redis already held records (nothing was done). */
export async function rebuildRecords(
  src: StateSources,
  scope: StateScope,
  now = new Date(),
): Promise<{ volumes: number; snapshots: number } | undefined> {
  if ((await holdsRecordsOf(src.volumes, scope.backend)) || (await holdsRecordsOf(src.snapshots, scope.backend))) return undefined;
  const idOf = (slot: string): string => placedId(slot, scope.backend, '');
  let volumes = 0;
  let snapshots = 0;
  const createdAt = now.toISOString();
  for (const disk of await src.rds.listDisks()) {
    if (!isUnder(scope.basePath, disk.filePath)) continue; // never adopt anything outside the base path
    if (scope.owner && ownershipOf(disk.comment, scope.owner) === 'other') continue; // another cluster's disk
    const pvc = parseOwner(disk.comment)?.pvc;
    const gen = randomUUID().slice(0, 8);
    if (isVolumeId(disk.slot, scope.volumePrefix)) {
      const name = volumeNameOf(disk.slot, scope.volumePrefix);
      const { created } = await src.volumes.claim({
        id: idOf(disk.slot),
        name,
        capacityBytes: disk.fileSizeBytes,
        accessType: 'mount',
        paramsKey: '',
        context: {},
        state: disk.nvmeTcpExport ? 'ready' : 'creating',
        gen,
        slot: disk.slot,
        filePath: disk.filePath,
        // An unexported disk reports RouterOS's default NQN, its slot (ROUTEROS.md `nvme-tcp-server-nqn`), which is
        // not the driver's: the node refuses any NQN but nqnFor (node/validate.ts volumeTarget).
        nqn: (disk.nvmeTcpExport && disk.nvmeTcpNqn) || nqnFor(scope.nqnPrefix, disk.slot),
        createdAt,
        rebuilt: true,
        ...(pvc ? { pvcName: pvc.name, pvcNamespace: pvc.namespace } : {}),
      });
      if (created) volumes++;
    } else if (isSnapshotId(disk.slot, scope.volumePrefix) && !disk.nvmeTcpExport) {
      const { created } = await src.snapshots.claim({
        id: idOf(disk.slot),
        name: '',
        sourceVolumeId: '',
        sizeBytes: disk.fileSizeBytes,
        state: 'ready',
        gen,
        slot: disk.slot,
        filePath: disk.filePath,
        createdAt,
      });
      if (created) snapshots++;
    }
  }
  return { volumes, snapshots };
}
