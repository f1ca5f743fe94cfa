/** Backing files of file disks: sparse creation, growing, and a hole-preserving copy for `copy-from`. */
import { execFile } from 'node:child_process';
import { constants, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Size of an existing regular file, `null` when absent, `'dir'` for a directory. */
export async function existingSize(hostPath: string): Promise<number | null | 'dir'> {
  try {
    const st = await fsp.stat(hostPath);
    return st.isDirectory() ? 'dir' : st.size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Creates parent directories and a sparse file of exactly `size` bytes (ftruncate, no data written). */
export async function createSparse(hostPath: string, size: number): Promise<void> {
  await fsp.mkdir(path.dirname(hostPath), { recursive: true });
  const fh = await fsp.open(hostPath, 'wx');
  try {
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
}

/** Grows a file to `size` bytes (sparse tail). Never shrinks. */
export async function growTo(hostPath: string, size: number): Promise<void> {
  const st = await fsp.stat(hostPath);
  if (st.size < size) await fsp.truncate(hostPath, size);
}

const CHUNK = 1 << 20;
const ZERO = Buffer.alloc(CHUNK);

/**
 * Copies `src` to a new file `dst`, keeping it sparse: a reflink (btrfs/xfs) when the filesystem has them, else
 * GNU `cp --sparse=always` (which skips holes with SEEK_DATA, so a mostly empty 1 TiB image copies instantly),
 * else 1 MiB chunks where all-zero chunks are skipped (reads the whole file; slow for huge images).
 */
export async function copySparse(src: string, dst: string): Promise<void> {
  await fsp.mkdir(path.dirname(dst), { recursive: true });
  try {
    await fsp.copyFile(src, dst, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw e;
  }
  if (process.platform === 'linux') {
    try {
      await execFileAsync('cp', ['--sparse=always', '--reflink=auto', '--no-clobber', '--', src, dst]);
      return;
    } catch {
      await fsp.rm(dst, { force: true });
    }
  }
  await copyChunks(src, dst);
}

export async function copyChunks(src: string, dst: string): Promise<void> {
  await fsp.mkdir(path.dirname(dst), { recursive: true });
  const size = (await fsp.stat(src)).size;
  const input = await fsp.open(src, 'r');
  try {
    const output = await fsp.open(dst, 'wx');
    try {
      await output.truncate(size);
      const buf = Buffer.alloc(CHUNK);
      for (let pos = 0; pos < size; pos += CHUNK) {
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
