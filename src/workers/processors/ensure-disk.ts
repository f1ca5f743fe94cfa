/**
 * Makes sure a disk exists in `slot` with `filePath` and at least `sizeBytes` (or, for a copy without a size, the
 * source's size), creating it empty or as a `copy-from` of another disk. Shared by disk.create (new, restore,
 * clone) and snapshot.create. Idempotent: an earlier attempt's disk is recognised; a backing file without a disk
 * is only accepted as the in-flight add of this very job, never as someone else's leftover data.
 */
import { Failure } from '../../domain/failure';
import { isUnder } from '../../domain/ids';
import type { RdsDisk } from '../../rds/port';
import { type BaseContext } from '../context';

export interface DiskSpec {
  slot: string;
  filePath: string;
  sizeBytes?: number;
  copyFromSlot?: string;
}

const ADD_ISSUED = 'add-issued';
/** A copy-from add takes time proportional to the data; its call deadline is generous. */
const COPY_TIMEOUT_MS = 6 * 3600 * 1000;

export async function ensureDisk(spec: DiskSpec, ctx: BaseContext): Promise<RdsDisk> {
  const { rds, basePath, steps, log } = ctx;
  if (!isUnder(basePath, spec.filePath)) {
    throw new Failure('invalid', `backing file ${spec.filePath} is not under the base path ${basePath}`);
  }
  const existing = await rds.getDisk(spec.slot);
  if (existing) {
    if (existing.filePath !== spec.filePath) {
      throw new Failure(
        'conflict',
        `RDS slot ${spec.slot} is already used by a disk with file ${existing.filePath}; expected ${spec.filePath}. Inspect it with /disk print`,
      );
    }
    return grow(existing, spec, ctx, steps.has(ADD_ISSUED));
  }
  const leftover = await rds.getFile(spec.filePath);
  if (leftover) {
    if (steps.has(ADD_ISSUED)) {
      // This job's own add is still running on RDS (a copy takes a while): look again later.
      throw new Error(`the add of ${spec.slot} is still in progress on RDS (its file exists, the disk not yet)`);
    }
    throw new Failure(
      'precondition',
      `backing file ${spec.filePath} exists on RDS without a disk (left over from an earlier volume?); it is never reused. ` +
        'Check its contents, then remove it (/file remove) and retry',
    );
  }
  let source: RdsDisk | undefined;
  if (spec.copyFromSlot) {
    source = await rds.getDisk(spec.copyFromSlot);
    if (!source) throw new Failure('not-found', `source disk ${spec.copyFromSlot} does not exist on RDS`);
  }
  const needed = Math.max(spec.sizeBytes ?? 0, source?.fileSizeBytes ?? 0);
  const pool = await rds.poolCapacity();
  if (pool.freeBytes < needed) {
    throw new Failure('exhausted', `RDS pool has ${pool.freeBytes} bytes free, ${needed} needed; free space on the pool or request less`);
  }
  await steps.mark(ADD_ISSUED);
  const disk = source
    ? await rds.addDisk({ slot: spec.slot, filePath: spec.filePath, copyFromId: source.id, timeoutMs: COPY_TIMEOUT_MS })
    : await rds.addDisk({ slot: spec.slot, filePath: spec.filePath, fileSizeBytes: spec.sizeBytes });
  log.info({ slot: spec.slot, sizeBytes: disk.fileSizeBytes, copyFrom: spec.copyFromSlot }, source ? 'disk copied' : 'disk created');
  return grow(disk, spec, ctx, true);
}

/** A restore or clone asked for more than the source's size: grow the copy (never shrink). */
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
