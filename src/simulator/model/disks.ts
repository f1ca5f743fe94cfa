/**
 * `/disk` menu: print, add, set, remove (docs/ARCHITECTURE.md RouterOS §2.2–2.4). Every operation runs under the
 * model lock, except the data copy of `add copy-from=`, which runs outside it (see diskAdd), and the state write,
 * awaited after the lock (SimModel.update).
 */
import { promises as fsp } from 'node:fs';
import type { Command, CommandResult } from '../command';
import { TrapError } from '../errors';
import { runPrint } from '../print';
import { keyEquality, type Row } from '../query';
import { parseSize } from '../values';
import { paceBytes } from '../util/pace';
import { allocatedBytes, copySparse, createSparse, existingSize, growTo } from './backing';
import { diskRow, poolRow } from './disk-row';
import { defaultDisk, parseDiskPatch } from './disk-props';
import { POOL_ID, type CopyReservation, type SimModel } from './model';
import type { DiskRecord } from './state';

const ADD_ONLY = ['type', 'file-path', 'copy-from'];
const ID_ATTRS = ['.id', 'numbers'];

/** Properties whose `?prop=value` narrows a print to what the index finds (a superset of what the query keeps). */
const DISK_KEYS = ['.id', 'slot', 'file-path', 'model', 'mount-point'];

function indexed(model: SimModel, prop: string, value: string): readonly DiskRecord[] {
  if (prop === '.id') return model.disks.byId(value);
  if (prop === 'slot') return model.disks.bySlot(value);
  if (prop === 'file-path' || prop === 'model') return model.disks.byPath(value);
  return []; // mount-point: file disks have none
}

/**
 * A query that requires one indexed property to equal a value is answered from the index: the pool row (when its
 * own key matches) and the disks the index finds, then the full query as usual. Otherwise every row.
 */
export function diskPrint(model: SimModel, cmd: Command): Promise<CommandResult> {
  return model.lock.run(async () => {
    const key = keyEquality(cmd.queries, DISK_KEYS);
    const pool = (): Promise<Row> => model.pool.capacity().then((cap) => poolRow(model.pool.name, model.poolFs, cap, model.poolMounted));
    let rows: Row[];
    if (key === undefined) {
      rows = [await pool(), ...model.disks.all().map(diskRow)];
    } else {
      // The pool's keys do not depend on its capacity: measure it only when the pool row can match.
      const poolKeyMatches = poolRow(model.pool.name, model.poolFs, { size: 0, free: 0 }, model.poolMounted)[key.prop] === key.value;
      rows = [...(poolKeyMatches ? [await pool()] : []), ...indexed(model, key.prop, key.value).map(diskRow)];
    }
    model.rowsBuilt += rows.length;
    return runPrint(rows, cmd);
  });
}

/** Default slot from the path, as documented for the CLI (`/disk1/swap` → `file-disk1-swap`). */
function defaultSlot(filePath: string): string {
  return 'file-' + filePath.replace(/^\//, '').split('/').join('-');
}

/** The slot is free when no disk and no copy in flight (whose disk is yet to appear) has it. */
function assertSlotFree(model: SimModel, slot: string, except?: DiskRecord): void {
  const taken =
    slot === model.pool.name || model.disks.bySlot(slot).some((d) => d !== except) || [...model.copies.values()].some((c) => c.slot === slot);
  if (taken) throw new TrapError(model.messages.slotExists);
}

async function assertSpace(model: SimModel, needed: number): Promise<void> {
  if (needed <= 0) return;
  const { free } = await model.pool.capacity();
  if (needed > free) throw new TrapError(model.messages.notEnoughSpace);
}

/** What the locked part of `add` leaves to do: nothing more, or the copy of a `copy-from`. */
type AddPlan = { done: CommandResult } | { copy: CopyJob };

interface CopyJob {
  reservation: CopyReservation;
  record: DiskRecord;
  sourceHost: string;
  host: string;
}

/**
 * `add`. Without `copy-from` everything happens under the lock. With `copy-from` the command runs in three steps so
 * that a long copy does not hold up every other command of every connection:
 *  1. under the lock: validate, reserve the slot and the path (a concurrent add of either traps), create the
 *     empty destination file (so `/file print` shows it) and record it as a pending copy;
 *  2. without the lock: copy sparsely, then wait until allocated bytes / copyBytesPerSecond have passed;
 *  3. under the lock: insert the disk item; then its state write (after the lock). Only now does the disk appear in `/disk print`, and the
 *     reply `!done =ret=*ID` goes out.
 * A failure in 2 or 3 deletes the partial file and the reservation. The copy does not watch the client's
 * connection: a client that drops (its worker was killed) still gets its disk, as RouterOS runs a command it
 * received to the end.
 */
export function diskAdd(model: SimModel, cmd: Command): Promise<CommandResult> {
  // Tracked from the start, so that close() also waits for a copy whose reservation exists but whose copy has not
  // begun yet.
  return model.track(addDisk(model, cmd));
}

async function addDisk(model: SimModel, cmd: Command): Promise<CommandResult> {
  let reserved: CopyReservation | undefined;
  let plan: AddPlan;
  try {
    plan = await model.update(async () => {
      const p = await prepareAdd(model, cmd);
      if ('copy' in p) reserved = p.copy.reservation;
      return p;
    });
  } catch (e) {
    // The reservation was made but could not be saved: give it up (file, reservation), like a failed copy.
    const r = reserved;
    if (r !== undefined) await model.update(() => dropCopy(model, r));
    throw e;
  }
  if ('done' in plan) return plan.done;
  return runCopy(model, plan.copy);
}

async function prepareAdd(model: SimModel, cmd: Command): Promise<AddPlan> {
  const m = model.messages;
  const type = cmd.attrs.get('type');
  if (type === undefined) throw new TrapError(`${m.missingArgument} type`, 1);
  if (type !== 'file') throw new TrapError(m.unsupportedType, 1);
  const rawPath = cmd.attrs.get('file-path');
  if (rawPath === undefined || rawPath === '') throw new TrapError(`${m.missingArgument} file-path`, 1);
  const filePath = model.pool.normalize(rawPath);
  const patch = parseDiskPatch(cmd.attrs, ADD_ONLY);
  const slot = patch.slot ?? defaultSlot(filePath);
  assertSlotFree(model, slot);
  if (model.disks.byPath(filePath).length > 0) throw new TrapError(m.fileInUseByDisk);
  if (model.copies.has(filePath)) throw new TrapError(m.fileExists);

  const requested = cmd.attrs.has('file-size') ? parseSize(cmd.attrs.get('file-size') ?? '', 'file-size') : undefined;
  const copyRef = cmd.attrs.get('copy-from');
  const source = copyRef === undefined ? undefined : model.resolveDisks(copyRef)[0];
  if (source === POOL_ID) throw new TrapError(m.unsupportedType, 1);

  const host = model.pool.hostPath(filePath);
  const existing = await existingSize(host);
  if (existing === 'dir') throw new TrapError(m.isDirectory);
  const newRecord = (size: number): DiskRecord => ({ ...defaultDisk('', slot, filePath, size), ...patch, slot, fileSize: size });

  if (source !== undefined) {
    // copy-from: the simulator copies the source's data (sparse-preserving) and nothing of its export settings.
    // Onto an existing file it traps rather than attach stale data as if it were the copy (RouterOS: unknown).
    if (existing !== null) throw new TrapError(m.fileExists);
    model.closeSignal.throwIfAborted();
    const size = Math.max(source.fileSize, requested ?? 0);
    await assertSpace(model, size);
    const sourceHost = model.pool.hostPath(source.filePath);
    const reservation: CopyReservation = {
      slot,
      filePath,
      sourceId: source.id,
      size,
      allocatedBytes: await allocatedBytes(sourceHost),
      startedAt: new Date(),
    };
    await createSparse(host, 0);
    model.copies.set(filePath, reservation);
    model.state.pendingCopies.push(filePath);
    void model.changed();
    return { copy: { reservation, record: newRecord(size), sourceHost, host } };
  }

  let size: number;
  if (existing !== null) {
    // The file exists. Attach it without touching its content; with a larger file-size grow it, never shrink.
    // What RouterOS does with an existing file plus a file-size is unknown (docs/ARCHITECTURE.md RouterOS §2.3); this
    // is the safest reading.
    size = Math.max(existing, requested ?? 0);
    await assertSpace(model, size - existing);
    if (size > existing) await growTo(host, size);
  } else {
    if (requested === undefined) throw new TrapError(m.fileNotFound);
    size = requested;
    await assertSpace(model, size);
    await createSparse(host, size);
  }
  const rec = newRecord(size);
  rec.id = model.allocateDiskId();
  model.disks.add(rec);
  void model.changed();
  return { done: { rows: [], done: { ret: rec.id } } };
}

/**
 * Steps 2 and 3 of a copy. When the simulator closes meanwhile (closeSignal), the copy is abandoned: partial file
 * deleted, no disk item. A real power cut could leave either behind; abandoning keeps restarts in tests
 * deterministic. A simulator killed outside close() leaves the partial file, which the next start deletes
 * (`pendingCopies`).
 */
async function runCopy(model: SimModel, job: CopyJob): Promise<CommandResult> {
  const { reservation, record, host } = job;
  const signal = model.closeSignal;
  try {
    const started = Date.now();
    await copySparse(job.sourceHost, host, { overwrite: true, signal });
    model.pool.invalidate();
    if (!(await paceBytes(reservation.allocatedBytes, model.copyBytesPerSecond, started, signal))) signal.throwIfAborted();
    return await model.update(async () => {
      signal.throwIfAborted();
      // The size at the start of the copy, also when the source grew meanwhile (a point-in-time copy).
      await fsp.truncate(host, reservation.size);
      record.id = model.allocateDiskId();
      model.disks.add(record);
      model.copies.delete(reservation.filePath);
      model.state.pendingCopies = model.state.pendingCopies.filter((p) => p !== reservation.filePath);
      void model.changed();
      return { rows: [], done: { ret: record.id } };
    });
  } catch (e) {
    // Also when saving the new disk failed: it goes again, with its file.
    await model.update(() => {
      model.disks.remove(record);
      return dropCopy(model, reservation);
    });
    throw e;
  }
}

/** Deletes a copy's (partial) destination file, then its reservation. Runs under the lock. */
async function dropCopy(model: SimModel, reservation: CopyReservation): Promise<void> {
  try {
    await fsp.rm(model.pool.hostPath(reservation.filePath), { force: true });
  } finally {
    model.copies.delete(reservation.filePath);
    model.state.pendingCopies = model.state.pendingCopies.filter((p) => p !== reservation.filePath);
    void model.changed();
  }
}

export function diskSet(model: SimModel, cmd: Command): Promise<CommandResult> {
  return model.update(async () => {
    const m = model.messages;
    const targets = model.resolveDisks(cmd.attrs.get('.id') ?? cmd.attrs.get('numbers'));
    const patch = parseDiskPatch(cmd.attrs, ID_ATTRS);
    if (patch.fileSize === undefined) delete patch.fileSize;
    if (Object.keys(patch).length === 0) return { rows: [] };
    const disks: DiskRecord[] = [];
    for (const t of targets) {
      if (t === POOL_ID) throw new TrapError(m.cannotChangePool);
      disks.push(t);
    }
    if (patch.slot !== undefined) {
      if (disks.length > 1) throw new TrapError(m.slotExists);
      assertSlotFree(model, patch.slot, disks[0]);
    }
    if (patch.fileSize !== undefined) {
      const want = patch.fileSize;
      if (disks.some((d) => want < d.fileSize)) throw new TrapError(m.shrinkRefused);
      await assertSpace(
        model,
        disks.reduce((sum, d) => sum + (want - d.fileSize), 0),
      );
      for (const d of disks) await growTo(model.pool.hostPath(d.filePath), want);
    }
    const { slot, ...rest } = patch;
    for (const d of disks) {
      Object.assign(d, rest);
      if (slot !== undefined) model.disks.setSlot(d, slot);
    }
    void model.changed();
    return { rows: [] };
  });
}

/** Removes disk items only; the backing files stay (docs/ARCHITECTURE.md RouterOS §2.3). The source of a copy in flight is busy. */
export function diskRemove(model: SimModel, cmd: Command): Promise<CommandResult> {
  return model.update(() => {
    const targets = model.resolveDisks(cmd.attrs.get('.id') ?? cmd.attrs.get('numbers'));
    if (targets.includes(POOL_ID)) throw new TrapError(model.messages.cannotChangePool);
    const busy = new Set([...model.copies.values()].map((c) => c.sourceId));
    if (targets.some((t) => t !== POOL_ID && busy.has(t.id))) throw new TrapError(model.messages.diskBusy);
    for (const t of targets) if (t !== POOL_ID) model.disks.remove(t);
    void model.changed();
    return { rows: [] };
  });
}
