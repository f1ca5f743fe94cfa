import { promises as fsp, type BigIntStats } from 'node:fs';
import path from 'node:path';

/**
 * Small file-system facts the node plugin decides on: lstat that answers undefined for a missing path, the
 * major:minor of a device node, and statfs in bytes and inodes.
 */

export async function lstatOrUndefined(p: string): Promise<BigIntStats | undefined> {
  try {
    return await fsp.lstat(p, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/** Linux dev_t encoding (glibc gnu_dev_major / gnu_dev_minor). */
export function splitDev(rdev: bigint): { major: number; minor: number } {
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return { major, minor };
}

export interface FsUsage {
  totalBytes: number;
  availableBytes: number;
  usedBytes: number;
  totalInodes: number;
  freeInodes: number;
  usedInodes: number;
}

export async function statfsUsage(p: string): Promise<FsUsage> {
  const s = await fsp.statfs(p, { bigint: true });
  const bsize = s.bsize;
  const totalBytes = s.blocks * bsize;
  const availableBytes = s.bavail * bsize;
  const usedBytes = (s.blocks - s.bfree) * bsize;
  return {
    totalBytes: Number(totalBytes),
    availableBytes: Number(availableBytes),
    usedBytes: Number(usedBytes),
    totalInodes: Number(s.files),
    freeInodes: Number(s.ffree),
    usedInodes: Number(s.files - s.ffree),
  };
}

/**
 * The path as the mount table spells it: the parent directory resolved (realpath), the last component as given —
 * never followed, so a symlink at a target path is not mistaken for the mount it points to. The path itself when
 * the parent does not resolve (a missing path is compared literally).
 */
export async function canonical(p: string): Promise<string> {
  const base = path.basename(p);
  if (p === '/' || base === '' || base === '.' || base === '..') return p;
  try {
    return path.join(await fsp.realpath(path.dirname(p)), base);
  } catch {
    return p;
  }
}
