import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { STATE_FILE, type DiskRecord, type SimState } from '../../src/simulator/model/state';

/**
 * Fast load of disks into a stopped simulator: its persistent state file (`<dataDir>/.simulator-state.json`,
 * src/simulator/model/state.ts, reloaded at start) gets copies of a template disk that the driver really created,
 * and each copy gets its sparse backing file under the pool. Creating 10,000 disks through the RouterOS API would
 * take minutes on 2 cores and measure nothing the scale part is about.
 */

/** RouterOS item ids as the simulator prints them (`*1F`). */
function itemId(n: number): string {
  return `*${n.toString(16).toUpperCase()}`;
}

export function readSimState(dataDir: string): SimState {
  return JSON.parse(readFileSync(path.join(dataDir, STATE_FILE), 'utf8')) as SimState;
}

/**
 * Adds one copy of the disk whose slot is `templateSlot` per new slot: every occurrence of the template's slot in
 * the record (file path, NQN) becomes the new slot, and the copy gets the next item id and a sparse file of the
 * template's size. Returns how many disks the state then holds.
 */
export function seedDisks(dataDir: string, templateSlot: string, newSlots: string[]): number {
  const state = readSimState(dataDir);
  const tpl = state.disks.find((d) => d.slot === templateSlot);
  if (!tpl) throw new Error(`no disk with slot ${templateSlot} in the simulator state`);
  const text = JSON.stringify(tpl);
  for (const slot of newSlots) {
    const rec = JSON.parse(text.split(templateSlot).join(slot)) as DiskRecord;
    rec.id = itemId(state.nextDiskId++);
    const host = path.join(dataDir, ...rec.filePath.replace(/^\/+/, '').split('/'));
    mkdirSync(path.dirname(host), { recursive: true });
    const fd = openSync(host, 'wx');
    try {
      ftruncateSync(fd, rec.fileSize);
    } finally {
      closeSync(fd);
    }
    state.disks.push(rec);
  }
  const file = path.join(dataDir, STATE_FILE);
  writeFileSync(`${file}.seed`, JSON.stringify(state));
  renameSync(`${file}.seed`, file);
  return state.disks.length;
}
