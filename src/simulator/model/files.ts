/**
 * `/file` menu: print and remove for the pool's disk root and everything below it (docs/ARCHITECTURE.md RouterOS §2.3).
 *
 * RouterOS facts kept here (sources beside each):
 * - The root of each disk is its own `/file` row, `type=disk`, with NO `size`: MikroTik's Files page
 *   (help.mikrotik.com/docs/spaces/ROS/pages/2555971/Files, RouterOS 7.16.1 capture:
 *   `name=flash type=disk last-modified=…`). On RDS the pool's mount point is such a disk root (inferred: same page,
 *   docs/ARCHITECTURE.md RouterOS §2.3), so the simulator lists `name=<pool> type=disk` first.
 * - Directories are `type=directory`, also without `size` (same capture: `name=flash/skins type=directory`).
 * - Files: `type=.<ext> file` (`.json file`) or `file`, with `size` (same capture).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Command, CommandResult } from '../command';
import { TrapError } from '../errors';
import { holdersUnder } from '../../host/safe-remove';
import { runPrint } from '../print';
import type { Row } from '../query';
import { hexId, type SimModel } from './model';
import type { FileEntry } from './pool';

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** RouterOS 7 date format `YYYY-MM-DD HH:MM:SS` (UTC here). */
export function formatTime(d: Date): string {
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** `disk` for the pool root, `directory`, `.img file` for a file with an extension, `file` otherwise. */
export function fileType(e: FileEntry & { isDiskRoot?: boolean }): string {
  if (e.isDiskRoot) return 'disk';
  if (e.isDirectory) return 'directory';
  const ext = path.extname(e.name);
  return ext ? `${ext} file` : 'file';
}

type ListedEntry = FileEntry & { isDiskRoot?: boolean };

/** The pool's mount point as RouterOS lists a disk root (see the header). */
async function diskRoot(model: SimModel): Promise<ListedEntry[]> {
  const pool = model.pool;
  try {
    const st = await fsp.stat(pool.root);
    return [
      { name: pool.name, hostPath: pool.root, isDirectory: true, isDiskRoot: true, size: 0, allocated: 0, birthtime: st.birthtime, mtime: st.mtime },
    ];
  } catch {
    return []; // not mounted (the data dir vanished): RouterOS would not list it either
  }
}

/** Lists entries and keeps `/file` IDs stable per name (new names get new IDs, vanished names are dropped). */
async function entriesWithIds(model: SimModel): Promise<Array<ListedEntry & { id: string }>> {
  const entries: ListedEntry[] = [...(await diskRoot(model)), ...(await model.pool.list())];
  const ids = model.state.fileIds;
  let changed = false;
  const seen = new Set<string>();
  const out = entries.map((e) => {
    seen.add(e.name);
    if (ids[e.name] === undefined) {
      ids[e.name] = hexId(model.state.nextFileId++);
      changed = true;
    }
    return { ...e, id: ids[e.name] };
  });
  for (const name of Object.keys(ids)) {
    if (!seen.has(name)) {
      delete ids[name];
      changed = true;
    }
  }
  if (changed) await model.persist();
  return out;
}

function fileRow(e: ListedEntry & { id: string }): Row {
  const row: Row = { '.id': e.id, name: e.name, type: fileType(e) };
  if (!e.isDirectory) row.size = String(e.size);
  row['creation-time'] = formatTime(e.birthtime.getTime() > 0 ? e.birthtime : e.mtime);
  row['last-modified'] = formatTime(e.mtime);
  return row;
}

export function filePrint(model: SimModel, cmd: Command): Promise<CommandResult> {
  return model.lock.run(async () => runPrint((await entriesWithIds(model)).map(fileRow), cmd));
}

/**
 * Deletes files or directories (recursively). Refuses, before deleting anything, when a disk still uses a file
 * that would go away, or a `copy-from` copy in flight writes it. Accepts IDs or names (comma-separated) in `=.id=` / `=numbers=`.
 */
export function fileRemove(model: SimModel, cmd: Command): Promise<CommandResult> {
  return model.lock.run(async () => {
    const m = model.messages;
    const ref = cmd.attrs.get('.id') ?? cmd.attrs.get('numbers');
    if (ref === undefined || ref === '') throw new TrapError(`${m.missingArgument} .id`, 1);
    const entries = await entriesWithIds(model);
    const targets = ref.split(',').map((r) => {
      const key = r.trim();
      const e = entries.find((x) => x.id.toUpperCase() === key.toUpperCase() || x.name === key.replace(/^\//, ''));
      if (!e) throw new TrapError(m.noSuchItem, 0);
      if (e.isDiskRoot) throw new TrapError(m.cannotRemoveDiskRoot);
      return e;
    });
    // Disks use their files; a copy in flight writes its destination (its disk is yet to appear).
    const usedPaths = [...model.state.disks.map((d) => d.filePath), ...model.copies.keys()];
    for (const t of targets) {
      const used = usedPaths.some((p) => {
        const name = p.slice(1);
        return name === t.name || name.startsWith(t.name + '/');
      });
      if (used) throw new TrapError(m.fileInUseByDisk);
    }
    // Not RouterOS behaviour but the host's safety: a file or directory that something on this host has mounted or
    // attached a loop device to (the all-in-one node plugin) is not removed, and nothing is removed then.
    for (const t of targets) {
      const holders = holdersUnder(t.hostPath);
      if (holders.length) throw new TrapError(`failure: ${t.name} is in use on the simulator's host: ${holders.join('; ')}`);
    }
    for (const t of targets) await fsp.rm(t.hostPath, { recursive: true, force: true });
    await entriesWithIds(model);
    return { rows: [] };
  });
}
