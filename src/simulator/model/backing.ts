/**
 * Backing files of file disks: sparse creation, growing, and a hole-preserving copy for `copy-from`.
 *
 * The metadata steps (stat, mkdir, open + ftruncate) run under the model lock and are synchronous system calls:
 * microseconds each on the local data dir, where the promise versions cost a thread-pool round trip and an
 * event-loop turn apiece, which under load held the lock for milliseconds. The data copy stays asynchronous (it
 * runs outside the lock).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { constants, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The promise of a synchronous step (its throw becomes a rejection). */
function settle<T>(step: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(step()));
}

/** Size of an existing regular file, `null` when absent, `'dir'` for a directory. */
export function existingSize(hostPath: string): Promise<number | null | 'dir'> {
  return settle(() => {
    try {
      const st = fs.statSync(hostPath);
      return st.isDirectory() ? 'dir' : st.size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  });
}

/** Creates parent directories and a sparse file of exactly `size` bytes (ftruncate, no data written). */
export function createSparse(hostPath: string, size: number): Promise<void> {
  return settle(() => {
    fs.mkdirSync(path.dirname(hostPath), { recursive: true });
    const fd = fs.openSync(hostPath, 'wx');
    try {
      fs.ftruncateSync(fd, size);
    } finally {
      fs.closeSync(fd);
    }
  });
}

/** Grows a file to `size` bytes (sparse tail). Never shrinks. */
export function growTo(hostPath: string, size: number): Promise<void> {
  return settle(() => {
    if (fs.statSync(hostPath).size < size) fs.truncateSync(hostPath, size);
  });
}

const CHUNK = 1 << 20;
const ZERO = Buffer.alloc(CHUNK);

/** Bytes the file really occupies (st_blocks × 512): what a sparse-aware copy has to move. */
export function allocatedBytes(hostPath: string): Promise<number> {
  return settle(() => fs.statSync(hostPath).blocks * 512);
}

export interface CopyOptions {
  /** `dst` exists (an empty file reserved by the caller) and is overwritten; otherwise it must not exist. */
  overwrite?: boolean;
  /** Abandons the copy (kills `cp`, stops between chunks) and rejects; the caller removes the partial file. */
  signal?: AbortSignal;
}

/**
 * Copies `src` to `dst`, keeping it sparse: a reflink (btrfs/xfs) when the filesystem has them, else
 * GNU `cp --sparse=always` (which skips holes with SEEK_DATA, so a mostly empty 1 TiB image copies instantly),
 * else 1 MiB chunks where all-zero chunks are skipped (reads the whole file; slow for huge images).
 */
export async function copySparse(src: string, dst: string, opts: CopyOptions = {}): Promise<void> {
  const { overwrite = false, signal } = opts;
  await fsp.mkdir(path.dirname(dst), { recursive: true });
  // copyFile unlinks the destination when the clone fails, which would drop a reserved file: only for new files
  // (with overwrite, `cp --reflink=auto` below clones where it can).
  if (!overwrite || process.platform !== 'linux') {
    try {
      await fsp.copyFile(src, dst, (overwrite ? 0 : constants.COPYFILE_EXCL) | constants.COPYFILE_FICLONE_FORCE);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw e;
    }
  }
  signal?.throwIfAborted();
  if (process.platform === 'linux') {
    try {
      const noClobber = overwrite ? [] : ['--no-clobber'];
      await execFileAsync('cp', ['--sparse=always', '--reflink=auto', ...noClobber, '--', src, dst], { signal });
      return;
    } catch {
      signal?.throwIfAborted();
      if (!overwrite) await fsp.rm(dst, { force: true });
    }
  }
  await copyChunks(src, dst, opts);
}

/** The portable fallback: reads every chunk, writes only the non-zero ones (truncates an existing `dst` first). */
export async function copyChunks(src: string, dst: string, opts: CopyOptions = {}): Promise<void> {
  const { overwrite = false, signal } = opts;
  await fsp.mkdir(path.dirname(dst), { recursive: true });
  const size = (await fsp.stat(src)).size;
  const input = await fsp.open(src, 'r');
  try {
    const output = await fsp.open(dst, overwrite ? 'w' : 'wx');
    try {
      await output.truncate(size);
      const buf = Buffer.alloc(CHUNK);
      for (let pos = 0; pos < size; pos += CHUNK) {
        signal?.throwIfAborted();
        const { bytesRead } = await input.read(buf, 0, Math.min(CHUNK, size - pos), pos);
        if (bytesRead === 0) break;
        const part = buf.subarray(0, bytesRead);
        if (!part.equals(ZERO.subarray(0, bytesRead))) await output.write(part, 0, bytesRead, pos);
      }
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}
