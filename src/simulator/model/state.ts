/**
 * Persistent simulator state (`<dataDir>/.simulator-state.json`), written atomically (temp file + rename) after
 * every change and reloaded at start, so a restarted simulator keeps its disks and IDs.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

export interface DiskRecord {
  id: string;
  slot: string;
  /** RouterOS path with a leading `/`, e.g. `/pool/pvc-1.img`. */
  filePath: string;
  fileSize: number;
  fileOffset: number;
  nvmeTcpExport: boolean;
  nvmeTcpServerPort: number;
  /** Explicit NQN; when unset the slot name is the NQN. */
  nvmeTcpServerNqn?: string;
  nvmeTcpServerAllowHostName: string;
  nvmeTcpServerPassword: string;
  iscsiExport: boolean;
  iscsiServerPort: number;
  iscsiServerIqn?: string;
  disabled: boolean;
  comment?: string;
}

export interface SimState {
  version: 1;
  nextDiskId: number;
  disks: DiskRecord[];
  nextFileId: number;
  /** RouterOS file name (no leading `/`) → `/file` item ID. */
  fileIds: Record<string, string>;
  /**
   * Destination files (RouterOS paths) of `copy-from` copies in flight. A simulator that stops mid-copy (close,
   * or killed) leaves them partial; the next start deletes them, so no disk and no stray file remain.
   */
  pendingCopies: string[];
}

export const STATE_FILE = '.simulator-state.json';

export function emptyState(): SimState {
  // *1 is the pool item; file disks start at *2.
  return { version: 1, nextDiskId: 2, disks: [], nextFileId: 1, fileIds: {}, pendingCopies: [] };
}

export class StateStore {
  private readonly file: string;
  private writes: Promise<void> = Promise.resolve();
  private seq = 0;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, STATE_FILE);
  }

  async load(): Promise<SimState> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw e;
    }
    const parsed = JSON.parse(text) as Partial<SimState>;
    return { ...emptyState(), ...parsed, version: 1 };
  }

  /** Queues an atomic write of a copy of `state`; writes complete in order. */
  save(state: SimState): Promise<void> {
    // Compact: with thousands of disks the pretty form took twice as long to build (it blocks the event loop).
    const text = JSON.stringify(state);
    const tmp = `${this.file}.${process.pid}.${++this.seq}.tmp`;
    const next = this.writes.then(async () => {
      await fsp.writeFile(tmp, text);
      await fsp.rename(tmp, this.file);
    });
    this.writes = next.catch(() => undefined);
    return next;
  }

  /** Resolves when every queued write has finished. */
  flush(): Promise<void> {
    return this.writes;
  }
}
