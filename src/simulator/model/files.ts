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
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Command, CommandResult } from '../command';
import { TrapError } from '../errors';
import { holdersUnder } from '../../host/safe-remove';
import { runPrint } from '../print';
import { keyEquality, type Row } from '../query';
import type { SimModel } from './model';
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
function diskRoot(model: SimModel): ListedEntry[] {
  const pool = model.pool;
  try {
    const st = fs.statSync(pool.root);
    return [
      { name: pool.name, hostPath: pool.root, isDirectory: true, isDiskRoot: true, size: 0, allocated: 0, birthtime: st.birthtime, mtime: st.mtime },
    ];
  } catch {
    return []; // not mounted (the data dir vanished): RouterOS would not list it either
  }
}

type IdEntry = ListedEntry & { id: string };

/** Lists entries and keeps `/file` IDs stable per name (new names get new IDs, vanished names are dropped). */
async function entriesWithIds(model: SimModel): Promise<IdEntry[]> {
  const entries: ListedEntry[] = [...diskRoot(model), ...(await model.pool.list())];
  let changed = false;
  const seen = new Set<string>();
  const out = entries.map((e) => {
    seen.add(e.name);
    if (model.setFileId(e.name)) changed = true;
    return { ...e, id: model.state.fileIds[e.name] };
  });
  for (const name of Object.keys(model.state.fileIds)) {
    if (!seen.has(name) && model.dropFileId(name)) changed = true;
  }
  if (changed) void model.changed();
  return out;
}

/**
 * The entry the full listing would give for `name`, found without listing: the pool root, or a path below it whose
 * every ancestor is a real directory (the listing descends only into those, lstat), else none.
 */
function entryByName(model: SimModel, name: string): ListedEntry | undefined {
  const pool = model.pool;
  if (name === pool.name) return diskRoot(model)[0];
  const parts = name.split('/');
  if (parts.length < 2 || parts[0] !== pool.name || parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  try {
    let host = pool.root;
    // Synchronous lstat: a syscall under the lock instead of a thread-pool round trip (model/backing.ts).
    for (const p of parts.slice(1, -1)) {
      host = path.join(host, p);
      if (!fs.lstatSync(host).isDirectory()) return undefined;
    }
    host = path.join(host, parts[parts.length - 1]);
    const st = fs.lstatSync(host);
    return {
      name,
      hostPath: host,
      isDirectory: st.isDirectory(),
      size: st.size,
      allocated: st.blocks * 512,
      birthtime: st.birthtime,
      mtime: st.mtime,
    };
  } catch {
    return undefined; // absent (or a name no file can have)
  }
}

/**
 * The entries named by `=.id=`-style references (an ID or a name) or by one query key, with their IDs, looked up
 * one by one: new names get an ID, a known name that vanished loses its ID, as the full listing would do for them.
 */
function entriesByKey(model: SimModel, prop: 'name' | '.id', value: string): IdEntry[] {
  const name = prop === 'name' ? value : model.fileNameOf(value);
  if (name === undefined) return [];
  const e = entryByName(model, name);
  if (e === undefined) {
    if (model.dropFileId(name)) void model.changed();
    return [];
  }
  if (model.setFileId(name)) void model.changed();
  return [{ ...e, id: model.state.fileIds[name] }];
}

function fileRow(e: ListedEntry & { id: string }): Row {
  const row: Row = { '.id': e.id, name: e.name, type: fileType(e) };
  if (!e.isDirectory) row.size = String(e.size);
  row['creation-time'] = formatTime(e.birthtime.getTime() > 0 ? e.birthtime : e.mtime);
  row['last-modified'] = formatTime(e.mtime);
  return row;
}

const FILE_KEYS = ['name', '.id'];

/** A query that requires `name` or `.id` to equal a value looks that one entry up; otherwise the tree is listed. */
export function filePrint(model: SimModel, cmd: Command): Promise<CommandResult> {
  return model.update(async () => {
    const key = keyEquality(cmd.queries, FILE_KEYS);
    const entries = key === undefined ? await entriesWithIds(model) : entriesByKey(model, key.prop as 'name' | '.id', key.value);
    model.rowsBuilt += entries.length;
    return runPrint(entries.map(fileRow), cmd);
  });
}

/**
 * Deletes files or directories (recursively). Refuses, before deleting anything, when a disk still uses a file
 * that would go away, or a `copy-from` copy in flight writes it. Accepts IDs or names (comma-separated) in `=.id=` / `=numbers=`.
 */
export function fileRemove(model: SimModel, cmd: Command): Promise<CommandResult> {
  return model.update(async () => {
    const m = model.messages;
    const ref = cmd.attrs.get('.id') ?? cmd.attrs.get('numbers');
    if (ref === undefined || ref === '') throw new TrapError(`${m.missingArgument} .id`, 1);
    const targets: IdEntry[] = [];
    for (const r of ref.split(',')) {
      const e = resolveFile(model, r.trim());
      if (!e) throw new TrapError(m.noSuchItem, 0);
      if (e.isDiskRoot) throw new TrapError(m.cannotRemoveDiskRoot);
      targets.push(e);
    }
    // Disks use their files; a copy in flight writes its destination (its disk is yet to appear).
    const usedPaths = [...model.disks.all().map((d) => d.filePath), ...model.copies.keys()];
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
    // The removed names (and, for a directory, every name below it) lose their IDs.
    for (const t of targets) {
      let changed = model.dropFileId(t.name);
      if (t.isDirectory)
        for (const name of Object.keys(model.state.fileIds)) if (name.startsWith(t.name + '/') && model.dropFileId(name)) changed = true;
      if (changed) void model.changed();
    }
    return { rows: [] };
  });
}

/**
 * `=.id=` / `=numbers=` entry: a `/file` ID (any case) or a name (leading `/` allowed). An ID is tried first, as
 * the listing's first match would be the ID's own entry unless an earlier-listed entry has that name; IDs look
 * like `*1F`, which no entry name below the pool can equal.
 */
function resolveFile(model: SimModel, key: string): IdEntry | undefined {
  const upper = key.toUpperCase();
  const byId = /^\*[0-9A-F]+$/.test(upper) ? entriesByKey(model, '.id', upper) : [];
  if (byId.length) return byId[0];
  return entriesByKey(model, 'name', key.replace(/^\//, ''))[0];
}
