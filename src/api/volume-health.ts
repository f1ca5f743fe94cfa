/**
 * Volume health from RDS (issue 15 item 5), for ListVolumes and ControllerGetVolume (the controller advertises
 * VOLUME_CONDITION; external-health-monitor turns an abnormal condition into an event on the PVC).
 *
 * Cost: one `/disk/print` of the driver's disks per ListVolumes page (not per volume) and one `/disk/print ?slot=`
 * per ControllerGetVolume, plus the controller's cached pool reading (rds.statusCacheMs, shared with the pool gauge).
 *
 * Conditions, first match wins:
 * - `rds-unreachable`: the disks could not be read. ListVolumes still answers from the records, every volume
 *   abnormal with this message (CSI: volume_condition must be set when VOLUME_CONDITION is advertised, and the
 *   driver cannot vouch for a volume it cannot see); ControllerGetVolume does the same.
 * - `missing`: no disk in the volume's slot; `export-off`: nvme-tcp-export is off; `export-mismatch`: the disk is
 *   exported with another NQN, or uses another backing file, than the record says (it points elsewhere).
 * - `pool-unmounted`: no disk has the pool's mount-point (a pool whose file system is not mounted has no
 *   `mount-point`/`free`: docs/ARCHITECTURE.md RouterOS §2.2, §2.4; RouterOsRds.poolCapacity's precondition).
 * - `pool-full`: the pool is at least `poolFullPercent` used.
 * I/O errors: MikroTik documents no `/disk` property that reports I/O errors of a file disk (the /disk properties in
 * docs/ARCHITECTURE.md RouterOS §2.2 — block-device, mounted, disabled, empty, formatting, raid-member, … — and the
 * manual's Disks/RAID pages, manual.mikrotik.com/docs/storage/raid: `raid-member-failed` is a RAID member setting,
 * not a file disk's state), so none is invented here.
 */
import { Failure } from '../domain/failure';
import type { Metrics } from '../metrics/registry';
import type { PoolCapacity, RdsDisk } from '../rds/port';
import type { VolumeRecord } from '../state/volume-record';

export const CONDITION_KINDS = [
  'normal',
  'rds-unreachable',
  'missing',
  'export-off',
  'export-mismatch',
  'pool-unmounted',
  'pool-full',
  'migration-timed-out',
] as const;
export type ConditionKind = (typeof CONDITION_KINDS)[number];

export interface VolumeCondition {
  kind: ConditionKind;
  abnormal: boolean;
  message: string;
}

/** The pool as the health check saw it: a reading, not mounted, or unknown (the reading failed otherwise). */
export type PoolState = { kind: 'ok'; pool: PoolCapacity } | { kind: 'unmounted'; message: string } | { kind: 'unknown' };

/** What one report is built from: the disks (by slot) or why they could not be read, and the pool. */
export interface RdsView {
  disks: Map<string, RdsDisk> | { error: string };
  pool: PoolState;
}

export interface HealthOptions {
  poolFullPercent: number;
}

export function conditionOf(rec: VolumeRecord, view: RdsView, o: HealthOptions): VolumeCondition {
  const abnormal = (kind: ConditionKind, message: string): VolumeCondition => ({ kind, abnormal: true, message });
  if (!(view.disks instanceof Map)) return abnormal('rds-unreachable', `health unknown: RDS unreachable (${view.disks.error})`);
  const disk = view.disks.get(rec.slot);
  if (!disk) return abnormal('missing', `disk ${rec.slot} is missing on RDS`);
  if (!disk.nvmeTcpExport) return abnormal('export-off', `disk ${rec.slot} is not exported over NVMe/TCP (nvme-tcp-export=no)`);
  if (disk.nvmeTcpNqn !== rec.nqn) {
    return abnormal('export-mismatch', `disk ${rec.slot} is exported as ${disk.nvmeTcpNqn ?? '(no NQN)'}, not ${rec.nqn}`);
  }
  if (disk.filePath !== rec.filePath) return abnormal('export-mismatch', `disk ${rec.slot} uses ${disk.filePath}, not ${rec.filePath}`);
  if (view.pool.kind === 'unmounted') return abnormal('pool-unmounted', `the RDS pool is not mounted: ${view.pool.message}`);
  if (view.pool.kind === 'ok' && view.pool.pool.sizeBytes > 0) {
    const used = ((view.pool.pool.sizeBytes - view.pool.pool.freeBytes) * 100) / view.pool.pool.sizeBytes;
    if (used >= o.poolFullPercent) {
      return abnormal('pool-full', `the RDS pool is ${used.toFixed(1)}% full (threshold ${o.poolFullPercent}%): writes may fail`);
    }
  }
  return { kind: 'normal', abnormal: false, message: 'disk present and exported on RDS' };
}

/**
 * Reads RDS for a report and records what each report said in the metrics:
 * `rds_csi_volume_condition_reports_total{condition}` (every condition reported) and
 * `rds_csi_volumes_by_condition{condition}` (the last condition reported per volume, counted).
 */
export class VolumeHealth {
  private readonly last = new Map<string, ConditionKind>();

  constructor(
    private readonly pool: () => Promise<PoolCapacity>,
    private readonly opts: HealthOptions,
    private readonly metrics?: Metrics,
  ) {}

  /**
   * The view for `read` (one `/disk/print`), never throwing: a failed read is part of the view. `pool`: the reading of
   * the backend `read` lists (issue 16: each backend has its own pool); the constructor's when not given.
   */
  async view(read: () => Promise<RdsDisk[]>, pool: () => Promise<PoolCapacity> = this.pool): Promise<RdsView> {
    const [disks, poolState] = await Promise.all([
      read().then(
        (list) => new Map(list.map((d) => [d.slot, d])),
        (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
      ),
      pool().then(
        (p): PoolState => ({ kind: 'ok', pool: p }),
        (err: unknown): PoolState =>
          err instanceof Failure && err.kind === 'precondition' ? { kind: 'unmounted', message: err.message } : { kind: 'unknown' },
      ),
    ]);
    return { disks, pool: poolState };
  }

  /** The condition of `rec`, counted in the metrics; `otherwise` is reported when RDS shows nothing abnormal. */
  report(rec: VolumeRecord, view: RdsView, otherwise?: VolumeCondition): VolumeCondition {
    const fromRds = conditionOf(rec, view, this.opts);
    const c = !fromRds.abnormal && otherwise ? otherwise : fromRds;
    this.record(rec.id, c.kind);
    return c;
  }

  /** A volume that is gone (deleted) no longer counts. */
  forget(volumeId: string): void {
    if (this.last.delete(volumeId)) this.publish();
  }

  private record(volumeId: string, kind: ConditionKind): void {
    this.metrics?.volumeConditionReports.inc({ condition: kind });
    if (this.last.get(volumeId) === kind) return;
    this.last.set(volumeId, kind);
    this.publish();
  }

  private publish(): void {
    const g = this.metrics?.volumesByCondition;
    if (!g) return;
    const counts = new Map<ConditionKind, number>(CONDITION_KINDS.map((k) => [k, 0]));
    for (const k of this.last.values()) counts.set(k, (counts.get(k) ?? 0) + 1);
    for (const [condition, n] of counts) g.set({ condition }, n);
  }
}
