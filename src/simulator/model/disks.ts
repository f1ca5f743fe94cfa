/** `/disk` menu: print, add, set, remove (ROUTEROS.md 2.2–2.4). Every operation runs under the model lock. */
import type { Command, CommandResult } from '../command';
import { TrapError } from '../errors';
import { runPrint } from '../print';
import { parseSize } from '../values';
import { copySparse, createSparse, existingSize, growTo } from './backing';
import { diskRow, poolRow } from './disk-row';
import { defaultDisk, parseDiskPatch } from './disk-props';
import { POOL_ID, type SimModel } from './model';
import type { DiskRecord } from './state';

const ADD_ONLY = ['type', 'file-path', 'copy-from'];
const ID_ATTRS = ['.id', 'numbers'];

export function diskPrint(model: SimModel, cmd: Command): Promise<CommandResult> {
  return model.lock.run(async () => {
    const cap = await model.pool.capacity();
    const rows = [poolRow(model.pool.name, model.poolFs, cap), ...model.state.disks.map(diskRow)];
    return runPrint(rows, cmd);
  });
}

/** Default slot from the path, as documented for the CLI (`/disk1/swap` → `file-disk1-swap`). */
function defaultSlot(filePath: string): string {
  return 'file-' + filePath.replace(/^\//, '').split('/').join('-');
}

function assertSlotFree(model: SimModel, slot: string, except?: DiskRecord): void {
  const taken = slot === model.pool.name || model.state.disks.some((d) => d !== except && d.slot === slot);
  if (taken) throw new TrapError(model.messages.slotExists);
}

async function assertSpace(model: SimModel, needed: number): Promise<void> {
  if (needed <= 0) return;
  const { free } = await model.pool.capacity();
  if (needed > free) throw new TrapError(model.messages.notEnoughSpace);
}

export function diskAdd(model: SimModel, cmd: Command): Promise<CommandResult> {
  return model.lock.run(async () => {
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
    if (model.state.disks.some((d) => d.filePath === filePath)) throw new TrapError(m.fileInUseByDisk);

    const requested = cmd.attrs.has('file-size') ? parseSize(cmd.attrs.get('file-size') ?? '', 'file-size') : undefined;
    const copyRef = cmd.attrs.get('copy-from');
    const source = copyRef === undefined ? undefined : model.resolveDisks(copyRef)[0];
    if (source === POOL_ID) throw new TrapError(m.unsupportedType, 1);

    const host = model.pool.hostPath(filePath);
    const existing = await existingSize(host);
    if (existing === 'dir') throw new TrapError(m.isDirectory);
    let size: number;
    if (existing !== null) {
      // The file exists. Attach it without touching its content; with a larger file-size grow it, never shrink.
      // What RouterOS does with an existing file plus a file-size is unknown (ROUTEROS.md 2.3); this is the safest reading.
      size = Math.max(existing, requested ?? 0);
      await assertSpace(model, size - existing);
      if (size > existing) await growTo(host, size);
    } else if (source !== undefined) {
      // copy-from: the simulator copies the source's data (sparse-preserving) and nothing of its export settings.
      size = Math.max(source.fileSize, requested ?? 0);
      await assertSpace(model, size);
      await copySparse(model.pool.hostPath(source.filePath), host);
      await growTo(host, size);
    } else {
      if (requested === undefined) throw new TrapError(m.fileNotFound);
      size = requested;
      await assertSpace(model, size);
      await createSparse(host, size);
    }

    const rec: DiskRecord = { ...defaultDisk(model.allocateDiskId(), slot, filePath, size), ...patch, slot, fileSize: size };
    model.state.disks.push(rec);
    await model.persist();
    return { rows: [], done: { ret: rec.id } };
  });
}

export function diskSet(model: SimModel, cmd: Command): Promise<CommandResult> {
  return model.lock.run(async () => {
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
      await assertSpace(model, disks.reduce((sum, d) => sum + (want - d.fileSize), 0));
      for (const d of disks) await growTo(model.pool.hostPath(d.filePath), want);
    }
    for (const d of disks) Object.assign(d, patch);
    await model.persist();
    return { rows: [] };
  });
}

/** Removes disk items only; the backing files stay (ROUTEROS.md 2.3). */
export function diskRemove(model: SimModel, cmd: Command): Promise<CommandResult> {
  return model.lock.run(async () => {
    const targets = model.resolveDisks(cmd.attrs.get('.id') ?? cmd.attrs.get('numbers'));
    if (targets.includes(POOL_ID)) throw new TrapError(model.messages.cannotChangePool);
    model.state.disks = model.state.disks.filter((d) => !targets.includes(d));
    await model.persist();
    return { rows: [] };
  });
}
