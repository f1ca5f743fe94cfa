/**
 * The storage pool: RouterOS path `/<p>` ↔ host path `<dataDir>/<p>`, and capacity. With a configured pool size
 * `free = size − allocated bytes (st_blocks × 512) of every file under the pool`; otherwise the host filesystem's
 * numbers (statfs) are reported.
 */
import * as fs from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { TrapError } from '../errors';
import type { SimulatorMessages } from '../messages';

export interface Capacity {
  size: number;
  free: number;
}

export interface FileEntry {
  /** RouterOS name without leading `/`, e.g. `pool/dir/x.img`. */
  name: string;
  hostPath: string;
  isDirectory: boolean;
  size: number;
  allocated: number;
  birthtime: Date;
  mtime: Date;
}

/** Capacity answers are reused this long (the model invalidates them on its own changes). */
export const CAPACITY_TTL_MS = 250;

export class Pool {
  readonly root: string;
  private cached: { at: number; value: Capacity } | undefined;

  constructor(
    readonly dataDir: string,
    readonly name: string,
    readonly sizeBytes: number | undefined,
    private readonly messages: SimulatorMessages,
  ) {
    this.root = path.join(dataDir, name);
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.root, { recursive: true });
  }

  /**
   * Validates a `file-path` argument and returns it with a leading `/`. It must name a file below the pool's
   * mount point by path components (`/pool/x.img`, `pool/d/x.img`); `.`/`..`/empty components are refused.
   */
  normalize(filePath: string): string {
    const parts = filePath.split('/');
    if (parts[0] === '') parts.shift();
    const ok = parts.length >= 2 && parts[0] === this.name && parts.every((p) => p !== '' && p !== '.' && p !== '..');
    if (!ok) throw new TrapError(this.messages.badFilePath, 1);
    return '/' + parts.join('/');
  }

  /** Host path of a RouterOS path or file name (with or without leading `/`). */
  hostPath(rosPath: string): string {
    const rel = rosPath.replace(/^\/+/, '');
    return path.join(this.dataDir, ...rel.split('/'));
  }

  /** Every file and directory below the pool root (the root itself excluded), sorted by name. */
  async list(): Promise<FileEntry[]> {
    const out: FileEntry[] = [];
    const walk = async (dir: string, rosDir: string): Promise<void> => {
      let names: string[];
      try {
        names = await fsp.readdir(dir);
      } catch {
        return;
      }
      for (const n of names.sort()) {
        const host = path.join(dir, n);
        const name = `${rosDir}/${n}`;
        let st;
        try {
          st = await fsp.lstat(host);
        } catch {
          continue; // vanished while listing
        }
        const isDirectory = st.isDirectory();
        out.push({ name, hostPath: host, isDirectory, size: st.size, allocated: st.blocks * 512, birthtime: st.birthtime, mtime: st.mtime });
        if (isDirectory) await walk(host, name);
      }
    };
    await walk(this.root, this.name);
    return out;
  }

  /** Forgets the cached capacity (after the model created, grew or removed files). */
  invalidate(): void {
    this.cached = undefined;
  }

  /**
   * Pool size and free bytes. Cached for CAPACITY_TTL_MS so that prints on a pool with thousands of files do not
   * walk the directory tree every time; writes by other processes into the files show up after at most that long.
   */
  async capacity(): Promise<Capacity> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < CAPACITY_TTL_MS) return this.cached.value;
    const value = await this.measure();
    this.cached = { at: now, value };
    return value;
  }

  private async measure(): Promise<Capacity> {
    if (this.sizeBytes !== undefined) {
      const files = await this.list();
      const used = files.reduce((sum, f) => sum + (f.isDirectory ? 0 : f.allocated), 0);
      return { size: this.sizeBytes, free: Math.max(0, this.sizeBytes - used) };
    }
    const st = fs.statfsSync(this.dataDir); // a syscall, under the lock: no thread-pool round trip (backing.ts)
    return { size: st.blocks * st.bsize, free: st.bavail * st.bsize };
  }
}
