/**
 * Makes sure a disk exists in `slot` with `filePath` and at least `sizeBytes` (or, for a copy without a size, the
 * source's size), creating it empty or as a `copy-from` of another disk, and exported when `exportAs` is given.
 * Shared by disk.create (new, restore, clone) and snapshot.create (never exported). Idempotent, keyed on the slot:
 * an earlier attempt's disk is recognised and finished (grown, exported); a backing file without a disk is only
 * accepted as the in-flight add of this very job, never as someone else's leftover data.
 *
 * RouterOS commands of a plain create (issue 14, counted by test/api/command-count.test.ts):
 *  - first attempt (no ADD_ISSUED mark): `/file/print ?name=` (is the backing file free?), one `/disk/add` that
 *    creates the disk already exported (RouterOS §2.3, as the Go rds-csi driver does on hardware), then the
 *    `/disk/print ?slot=` that confirms it = 3. The free-space check reads the pool at most once per TTL
 *    (pool-space.ts) instead of once per create.
 *  - The look stays before the add: what `/disk add` does with an existing file plus a `file-size` is unknown
 *    (RouterOS §2.3, §2.8) and could bring a removed volume's data back, so an existing file is never added over.
 *    Only when the file exists do extra reads tell our own earlier disk, someone's disk and a leftover apart.
 *  - a retry after the add was issued (the mark is set) looks the disk up by slot first, as before, and finishes
 *    what is missing: a disk made by an older two-step job (no export yet, a rolling upgrade) gets its export here.
 * Restores and clones stay in this one job too (no separate target.export): the copy is added as before (no size, no
 * export: what `copy-from` does with a size or export settings is unknown, RouterOS §2.7), grown when asked for
 * more, then exported with one `/disk set`. Their extra commands are nothing next to the copy itself.
 */
import { Failure } from '../../domain/failure';
import { isUnder } from '../../domain/ids';
import type { ExportSpec, RdsDisk } from '../../rds/port';
import { type BaseContext, type SpaceDeps } from '../context';
import type { PvcRef } from '../../cluster/ports';
import { adoptOwner, ownerComment } from './adopt-owner';

export interface DiskSpec {
  slot: string;
  filePath: string;
  sizeBytes?: number;
  copyFromSlot?: string;
  /** Export the disk over NVMe/TCP like this (allowHostName: set only while the disk has none). */
  exportAs?: ExportSpec;
  /** The PVC named in the disk's ownership comment (issue 15 item 3), when the provisioner passed it. */
  pvc?: PvcRef;
}

const ADD_ISSUED = 'add-issued';
/** A copy-from add takes time proportional to the data; its call deadline is generous. */
const COPY_TIMEOUT_MS = 6 * 3600 * 1000;

export async function ensureDisk(spec: DiskSpec, ctx: BaseContext & SpaceDeps): Promise<RdsDisk> {
  const { rds, basePath, steps } = ctx;
  if (!isUnder(basePath, spec.filePath)) {
    throw new Failure('invalid', `backing file ${spec.filePath} is not under the base path ${basePath}`);
  }
  if (steps.has(ADD_ISSUED)) {
    // An earlier attempt issued the add (its reply may never have come): the disk is most likely there.
    const existing = await rds.getDisk(spec.slot);
    if (existing) return finish(ours(existing, spec), spec, ctx, true);
    if (await rds.getFile(spec.filePath)) {
      // This job's own add is still running on RDS (a copy takes a while): look again later.
      throw new Error(`the add of ${spec.slot} is still in progress on RDS (its file exists, the disk not yet)`);
    }
    // The add never reached RDS (or failed there): issue it again below.
  } else if (await rds.getFile(spec.filePath)) {
    // Error path only: a disk of this volume made by a job whose steps are gone (a record rebuilt from RDS, an
    // older controller's job), someone else's disk in the slot, or a leftover file.
    const existing = await rds.getDisk(spec.slot);
    if (existing) return finish(ours(existing, spec), spec, ctx, false);
    throw new Failure(
      'precondition',
      `backing file ${spec.filePath} exists on RDS without a disk (left over from an earlier volume?); it is never reused. ` +
        'Check its contents, then remove it (/file remove) and retry',
    );
  }
  return add(spec, ctx);
}

async function add(spec: DiskSpec, ctx: BaseContext & SpaceDeps): Promise<RdsDisk> {
  const { rds, steps, log } = ctx;
  let source: RdsDisk | undefined;
  if (spec.copyFromSlot) {
    source = await rds.getDisk(spec.copyFromSlot);
    if (!source) throw new Failure('not-found', `source disk ${spec.copyFromSlot} does not exist on RDS`);
  }
  const hold = await ctx.space.reserve(Math.max(spec.sizeBytes ?? 0, source?.fileSizeBytes ?? 0));
  await steps.mark(ADD_ISSUED);
  let disk: RdsDisk;
  // The ownership comment rides on the add itself: no extra command (test/api/command-count.test.ts).
  const comment = ownerComment(ctx, spec.pvc);
  try {
    disk = source
      ? await rds.addDisk({ slot: spec.slot, filePath: spec.filePath, copyFromId: source.id, timeoutMs: COPY_TIMEOUT_MS, comment })
      : await rds.addDisk({ slot: spec.slot, filePath: spec.filePath, fileSizeBytes: spec.sizeBytes, export: spec.exportAs, comment });
  } catch (err) {
    hold.release();
    throw await explainAddFailure(err, spec, ctx);
  }
  hold.settle();
  log.info({ slot: spec.slot, sizeBytes: disk.fileSizeBytes, copyFrom: spec.copyFromSlot }, source ? 'disk copied' : 'disk created');
  return finish(disk, spec, ctx, true);
}

/**
 * The add was refused. The first attempt did not look the slot up before it (that would be a command on every
 * create), so a slot taken by a disk with another file shows up here, as the add's trap (RouterOS's text for a
 * duplicate slot is not captured, §2.8): answer it as the look-up would have. Transient failures are retried as
 * they are (the retry finds the disk by slot if the add went through).
 */
async function explainAddFailure(err: unknown, spec: DiskSpec, ctx: BaseContext): Promise<unknown> {
  if (!(err instanceof Failure) || err.transient || err.kind === 'exhausted') return err;
  const other = await ctx.rds.getDisk(spec.slot).catch(() => undefined);
  if (other && other.filePath !== spec.filePath) return conflict(other, spec);
  return err;
}

function conflict(disk: RdsDisk, spec: DiskSpec): Failure {
  return new Failure(
    'conflict',
    `RDS slot ${spec.slot} is already used by a disk with file ${disk.filePath}; expected ${spec.filePath}. Inspect it with /disk print`,
  );
}

function ours(disk: RdsDisk, spec: DiskSpec): RdsDisk {
  if (disk.filePath !== spec.filePath) throw conflict(disk, spec);
  return disk;
}

/** Grows a restore or clone that asked for more than the source's size (never shrinks), then exports it if asked. */
async function finish(found: RdsDisk, spec: DiskSpec, ctx: BaseContext, addedByThisJob: boolean): Promise<RdsDisk> {
  // A disk found rather than just added may predate ownership comments (or its add was an older worker's): adopt it.
  const disk = await adoptOwner(ctx, found, spec.pvc);
  const grown = await grow(disk, spec, ctx, addedByThisJob);
  const want = spec.exportAs;
  if (!want) return grown;
  const exported = grown.nvmeTcpExport && grown.nvmeTcpNqn === want.nqn && grown.nvmeTcpPort === want.port;
  // The placeholder allowed host only goes onto a disk that allows everyone: never over fence.attach's value.
  const allowHostName = want.allowHostName !== undefined && !grown.allowHostName ? want.allowHostName : undefined;
  if (exported && allowHostName === undefined) return grown;
  await ctx.rds.setExport(grown.id, { nqn: want.nqn, port: want.port, allowHostName });
  ctx.log.info({ slot: spec.slot, nqn: want.nqn, port: want.port }, 'disk exported over NVMe/TCP');
  return { ...grown, nvmeTcpExport: true, nvmeTcpNqn: want.nqn, nvmeTcpPort: want.port, allowHostName: allowHostName ?? grown.allowHostName };
}

async function grow(disk: RdsDisk, spec: DiskSpec, ctx: BaseContext, ours: boolean): Promise<RdsDisk> {
  if (spec.sizeBytes === undefined || disk.fileSizeBytes >= spec.sizeBytes) return disk;
  if (!ours && !spec.copyFromSlot) {
    throw new Failure('conflict', `disk ${spec.slot} exists with ${disk.fileSizeBytes} bytes, smaller than the requested ${spec.sizeBytes}`);
  }
  await ctx.rds.resizeDisk(disk.id, spec.sizeBytes);
  const grown = await ctx.rds.getDisk(spec.slot);
  if (!grown) throw new Error(`disk ${spec.slot} vanished while growing it`);
  return grown;
}
