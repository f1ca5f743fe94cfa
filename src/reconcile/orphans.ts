/**
 * Orphans on RDS (issue 7, item 4), found and deleted here for both callers: the operator CLI (`rds-csi orphans
 * list|delete`) and the scheduled reconcile.orphans job (src/workers/processors/reconcile-orphans.ts). An orphan is:
 * - disks whose slot has the driver's shape (a volume or snapshot id with cfg.volumePrefix) and whose backing file
 *   is under the base path, that no volume or snapshot record knows (by slot or file);
 * - backing files under the base path that no disk uses and no record names (`/disk remove` keeps the file, so a
 *   failed cleanup leaves one behind).
 * Nothing outside the base path (checked by path components) is ever reported or deleted.
 *
 * Ownership (issue 15 item 3, src/domain/ownership.ts): a disk is an orphan of this cluster only when its RouterOS
 * `comment` names this driver and cluster. A disk of another cluster is never reported or touched, so several
 * clusters can share one RDS and one base path even without a volumePrefix. A driver-shaped disk with no comment
 * (made before ownership comments) or with someone's own note cannot be attributed: it is listed as `unowned` and
 * never deleted. Backing files carry no comment: while another cluster's disks share the base path, an unused file
 * may be that cluster's copy in flight, so files are then reported but not deleted.
 *
 * Several RDS backends (issue 16): each RDS is judged on its own, against the records of its own volumes and
 * snapshots only (OrphanScope.backend); the same slot and file name may live on two backends.
 *
 * Files come from RdsPort.listFiles; without a lister only disks are checked and the report says so
 * (`filesChecked: false`).
 *
 * Races: RDS is listed first (files, then disks), the records after. A volume's record is claimed before its disk
 * is created and removed only after disk and file are gone, so anything listed on RDS whose record exists is seen
 * as known; a copy in flight (snapshot, restore) is protected by its record's file path.
 *
 * `deleteOrphans` is the delete behind `rds-csi orphans delete --yes` (no grace period, no first sighting) and
 * behind the scheduled reconcile.orphans job (which adds the grace period from the first sighting kept in Redis,
 * metrics and events). The safety checks live inside it, so every caller gets them: the "Redis looks empty" guard
 * (refuseDeleteReason, issue 11 item 15), the per-item re-checks, and the exported-disk rule.
 */
import path from 'node:path';
import type { RdsFile, RdsPort } from '../rds/port';
import { isSnapshotId, isUnder, isVolumeId } from '../domain/ids';
import type { RecordStore } from '../state/record-store';
import type { SnapshotRecord } from '../state/snapshot-record';
import type { VolumeRecord } from '../state/volume-record';
import { forEachPage } from '../state/listing';
import { ownershipOf, type DiskOwner } from '../domain/ownership';
import { placedId, splitId } from '../domain/backend-id';

export interface OrphanScope {
  /** cfg.rds.basePath */
  basePath: string;
  /** cfg.volumePrefix: the slot prefix the driver owns. */
  slotPrefix: string;
  /** This driver and cluster: only disks whose ownership comment names them are orphans of ours. */
  owner: DiskOwner;
  /**
   * The extra backend the RDS is (issue 16); absent = the primary. Only the records of this backend's volumes and
   * snapshots (ids `<slot>@<backend>`, bare slots for the primary) know its disks: the slot and file of a volume on
   * another RDS say nothing about a disk of the same slot here.
   */
  backend?: string;
}

/** Whether record `id` is of a volume or snapshot on `backend` (absent = the primary). */
function onBackend(id: string, backend: string | undefined): boolean {
  return splitId(id)?.backend === backend;
}

export interface OrphanDisk {
  /** RouterOS item id (only valid until RDS reboots). */
  id: string;
  slot: string;
  filePath: string;
  sizeBytes: number;
  exported: boolean;
}

export interface OrphanFile {
  id: string;
  /** Absolute path (leading `/`). */
  path: string;
  sizeBytes: number;
}

export interface OrphanReport {
  basePath: string;
  slotPrefix: string;
  /** Whose orphans these are (the scope's owner); deleteOrphans re-checks each disk against it. */
  owner: DiskOwner;
  /** The scope's backend (absent = the primary): deleteOrphans re-checks the records under this backend's ids. */
  backend?: string;
  disks: OrphanDisk[];
  /**
   * Driver-shaped disks under the base path that no record knows and whose comment names no owner (made before
   * ownership comments, or carrying someone's note): reported, never deleted (README "Ownership on RDS").
   */
  unowned: OrphanDisk[];
  /** Disks under the base path owned by another cluster or driver: never reported one by one, never touched. */
  otherOwners: number;
  files: OrphanFile[];
  /** False when the RDS port cannot list files: only disks were checked. */
  filesChecked: boolean;
  scanned: { disks: number; files?: number };
  known: { volumes: number; snapshots: number };
}

export interface OrphanSources {
  rds: Pick<RdsPort, 'listDisks'>;
  volumes: RecordStore<VolumeRecord>;
  snapshots: RecordStore<SnapshotRecord>;
  /** Every `/file` item; undefined = files cannot be listed. See rawFileLister. */
  listFiles?: () => Promise<RdsFile[]>;
  /** Records read per Redis page (default 500). */
  pageSize?: number;
}

const norm = (p: string): string => path.posix.normalize('/' + p.replace(/^\/+/, ''));

/** The port's file listing (kept as a function so a test can drop it and check disks only). */
export function rawFileLister(rds: RdsPort): () => Promise<RdsFile[]> {
  return () => rds.listFiles();
}

export function isDriverSlot(slot: string, slotPrefix: string): boolean {
  return slot.startsWith(slotPrefix) && (isVolumeId(slot, slotPrefix) || isSnapshotId(slot, slotPrefix));
}

export async function findOrphans(src: OrphanSources, scope: OrphanScope): Promise<OrphanReport> {
  const base = norm(scope.basePath);
  // RDS first, records after: see the race note above.
  const files = src.listFiles ? await src.listFiles() : undefined;
  const allDisks = await src.rds.listDisks();
  const disks = allDisks.filter((d) => d.slot.startsWith(scope.slotPrefix));
  // Only the slot and backing file of each record are kept, page by page: never every record whole (issue 14 item 5).
  const knownSlots = new Set<string>();
  const knownFiles = new Set<string>();
  let volumes = 0;
  let snapshots = 0;
  const keep = (records: { id: string; slot: string; filePath: string }[], kind: 'volume' | 'snapshot'): void => {
    for (const r of records) {
      if (!onBackend(r.id, scope.backend)) continue;
      if (kind === 'volume') volumes++;
      else snapshots++;
      knownSlots.add(r.slot);
      knownFiles.add(norm(r.filePath));
    }
  };
  await Promise.all([
    forEachPage(src.volumes, (rs) => keep(rs, 'volume'), src.pageSize),
    forEachPage(src.snapshots, (rs) => keep(rs, 'snapshot'), src.pageSize),
  ]);

  const underBase = allDisks.filter((d) => isUnder(base, norm(d.filePath)));
  const unknown = disks
    .filter((d) => isDriverSlot(d.slot, scope.slotPrefix) && isUnder(base, norm(d.filePath)))
    .filter((d) => !knownSlots.has(d.slot) && !knownFiles.has(norm(d.filePath)));
  const view = (list: typeof unknown): OrphanDisk[] =>
    list
      .map((d) => ({ id: d.id, slot: d.slot, filePath: norm(d.filePath), sizeBytes: d.fileSizeBytes, exported: d.nvmeTcpExport }))
      .sort((a, b) => a.slot.localeCompare(b.slot));
  const orphanDisks = view(unknown.filter((d) => ownershipOf(d.comment, scope.owner) === 'mine'));
  const unowned = view(unknown.filter((d) => ['none', 'foreign'].includes(ownershipOf(d.comment, scope.owner))));
  const otherOwners = underBase.filter((d) => ownershipOf(d.comment, scope.owner) === 'other').length;

  const usedFiles = new Set(allDisks.map((d) => norm(d.filePath)));
  const orphanFiles: OrphanFile[] = (files ?? [])
    .filter((f) => f.type !== 'directory')
    .map((f) => ({ id: f.id, path: norm(f.name), sizeBytes: f.sizeBytes }))
    .filter((f) => isUnder(base, f.path) && !usedFiles.has(f.path) && !knownFiles.has(f.path))
    .sort((a, b) => a.path.localeCompare(b.path));

  return {
    basePath: base,
    slotPrefix: scope.slotPrefix,
    owner: scope.owner,
    ...(scope.backend === undefined ? {} : { backend: scope.backend }),
    disks: orphanDisks,
    unowned,
    otherOwners,
    files: orphanFiles,
    filesChecked: files !== undefined,
    scanned: files ? { disks: allDisks.length, files: files.length } : { disks: allDisks.length },
    known: { volumes, snapshots },
  };
}

/**
 * Why a delete must not run on this report, or undefined. With no record at all while driver disks exist, Redis
 * was most likely flushed or lost: every disk would look orphaned. Rebuild the records first (reconcile.state).
 */
export function refuseDeleteReason(report: OrphanReport): string | undefined {
  if (report.known.volumes + report.known.snapshots === 0 && report.disks.length > 0) {
    return (
      `Redis holds no volume or snapshot record, yet ${report.disks.length} driver disk(s) exist under ${report.basePath}: ` +
      'Redis may have lost its data, and deleting would destroy live volumes. Rebuild the records first (reconcile.state)'
    );
  }
  return undefined;
}

/** deleteOrphans refused the whole delete (see refuseDeleteReason); nothing was deleted. */
export class OrphanDeleteRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OrphanDeleteRefused';
  }
}

export interface DeleteOptions {
  /** Also delete exported disks (operator CLI `--include-exported` only; the scheduled job never sets it). */
  includeExported?: boolean;
  /** Skip the "Redis looks empty" guard (operator CLI `--even-if-redis-is-empty` only). */
  evenIfRedisIsEmpty?: boolean;
}

export interface DeleteOutcome {
  kind: 'disk' | 'file';
  path: string;
  slot?: string;
  result: 'deleted' | 'skipped' | 'failed';
  detail: string;
}

export interface OrphanDeleteSources {
  rds: Pick<RdsPort, 'getDisk' | 'listDisks' | 'removeDisk' | 'getFile' | 'removeFile'>;
  volumes: RecordStore<VolumeRecord>;
  snapshots: RecordStore<SnapshotRecord>;
}

/** Whether a record of `slot` on the report's backend exists (its id: the bare slot on the primary, `<slot>@<B>` on B). */
async function hasRecord(src: OrphanDeleteSources, slot: string, backend: string | undefined): Promise<boolean> {
  const id = placedId(slot, backend, '');
  const [v, s] = await Promise.all([src.volumes.get(id), src.snapshots.get(id)]);
  return v !== undefined || s !== undefined;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Deletes what a report found (see the header). First the guard: when Redis holds no record (at scan time or now)
 * while driver disks are to go, nothing is deleted and OrphanDeleteRefused says why, unless `evenIfRedisIsEmpty`.
 * Then each item is re-checked just before it goes (still there, still under the base path, still without a
 * record, a file still unused by any disk); an exported disk is skipped unless `includeExported`. A disk goes with
 * its backing file.
 */
export async function deleteOrphans(src: OrphanDeleteSources, report: OrphanReport, opts: DeleteOptions = {}): Promise<DeleteOutcome[]> {
  if (!opts.evenIfRedisIsEmpty && report.disks.length > 0) {
    // The report's counts are from its scan; Redis may have been flushed since, so count again right now.
    const [volumes, snapshots] = await Promise.all([src.volumes.count(), src.snapshots.count()]);
    const refused = refuseDeleteReason(report) ?? refuseDeleteReason({ ...report, known: { volumes, snapshots } });
    if (refused) throw new OrphanDeleteRefused(refused);
  }
  const base = report.basePath;
  const out: DeleteOutcome[] = [];
  for (const d of report.disks) {
    const o = { kind: 'disk' as const, path: d.filePath, slot: d.slot };
    try {
      if (!isUnder(base, d.filePath) || !isDriverSlot(d.slot, report.slotPrefix)) {
        out.push({ ...o, result: 'skipped', detail: `not under ${base} or not a driver slot` });
        continue;
      }
      if (await hasRecord(src, d.slot, report.backend)) {
        out.push({ ...o, result: 'skipped', detail: 'a record for this slot exists now' });
        continue;
      }
      const now = await src.rds.getDisk(d.slot);
      if (!now) {
        out.push({ ...o, result: 'skipped', detail: 'the disk is gone already' });
        continue;
      }
      if (norm(now.filePath) !== d.filePath) {
        out.push({ ...o, result: 'skipped', detail: `the slot now uses ${now.filePath}` });
        continue;
      }
      if (ownershipOf(now.comment, report.owner) !== 'mine') {
        out.push({ ...o, result: 'skipped', detail: `its comment does not name this cluster (${now.comment ?? 'no comment'})` });
        continue;
      }
      if (now.nvmeTcpExport && !opts.includeExported) {
        out.push({ ...o, result: 'skipped', detail: 'exported over NVMe/TCP: a node may still be connected (pass --include-exported to delete it)' });
        continue;
      }
      await src.rds.removeDisk(now.id);
      const file = await src.rds.getFile(d.filePath);
      if (file) await src.rds.removeFile(file.id);
      out.push({ ...o, result: 'deleted', detail: file ? 'disk and backing file removed' : 'disk removed (it had no backing file)' });
    } catch (err) {
      out.push({ ...o, result: 'failed', detail: message(err) });
    }
  }
  if (report.files.length === 0) return out;
  if (report.otherOwners > 0) {
    // A file carries no owner: with another cluster's disks under this base path it may be that cluster's copy in flight.
    for (const f of report.files) {
      out.push({
        kind: 'file',
        path: f.path,
        result: 'skipped',
        detail: `another cluster's disks share ${base}: a file without a disk cannot be attributed`,
      });
    }
    return out;
  }
  let used: Set<string>;
  try {
    used = new Set((await src.rds.listDisks()).map((d) => norm(d.filePath)));
  } catch (err) {
    for (const f of report.files) out.push({ kind: 'file', path: f.path, result: 'failed', detail: `cannot list disks: ${message(err)}` });
    return out;
  }
  for (const f of report.files) {
    const o = { kind: 'file' as const, path: f.path };
    try {
      if (!isUnder(base, f.path)) {
        out.push({ ...o, result: 'skipped', detail: `not under ${base}` });
        continue;
      }
      if (used.has(f.path)) {
        out.push({ ...o, result: 'skipped', detail: 'a disk uses this file now' });
        continue;
      }
      const id = path.posix.basename(f.path).replace(/\.img$/, '');
      if (await hasRecord(src, id, report.backend)) {
        out.push({ ...o, result: 'skipped', detail: 'a record names this file now' });
        continue;
      }
      const now = await src.rds.getFile(f.path);
      if (!now) {
        out.push({ ...o, result: 'skipped', detail: 'the file is gone already' });
        continue;
      }
      await src.rds.removeFile(now.id);
      out.push({ ...o, result: 'deleted', detail: 'file removed' });
    } catch (err) {
      out.push({ ...o, result: 'failed', detail: message(err) });
    }
  }
  return out;
}
