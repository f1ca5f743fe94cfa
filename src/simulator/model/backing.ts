/** Backing files of file disks: sparse creation, growing, and a hole-preserving copy for `copy-from`. */
import { constants, promises as fsp } from 'node:fs';
import * as path from 'node:path';

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
 * Copies `src` to a new file `dst`. First tries a reflink (btrfs/xfs); otherwise copies 1 MiB chunks and skips
 * all-zero chunks, so holes stay holes and the copy stays sparse.
 */
export async function copySparse(src: string, dst: string): Promise<void> {
  await fsp.mkdir(path.dirname(dst), { recursive: true });
  try {
    await fsp.copyFile(src, dst, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw e;
  }
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
