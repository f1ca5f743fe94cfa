import { existsSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseMountInfo } from './mountinfo';

/**
 * The one way this project removes a directory tree. `rm -r` (and fs.rmSync recursive) descends into whatever is
 * mounted below the directory and deletes the files of that file system before failing with EBUSY on the mount
 * point; a loop device keeps using a backing file that was unlinked under it. So: look first, refuse with the
 * names of what is there, and remove only a tree that nothing is mounted in or attached from.
 *
 * The check reads /proc/self/mountinfo (mount points are canonical paths, proc(5)) and each loop device's
 * /sys/block/loopN/loop/backing_file (the kernel's record of the file a loop device reads, see losetup(8)).
 */

export interface SafeRemoveOptions {
  mountInfoFile?: string;
  sysBlockDir?: string;
}

export class DirectoryInUseError extends Error {
  constructor(
    readonly dir: string,
    readonly holders: string[],
  ) {
    super(`refusing to remove ${dir}: ${holders.join('; ')}`);
    this.name = 'DirectoryInUseError';
  }
}

const under = (p: string, dir: string): boolean => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/** Loop devices and their backing files, from sysfs (a loop device without a file has no backing_file). */
function loopBackings(sysBlockDir: string): Array<{ device: string; file: string }> {
  let names: string[];
  try {
    names = readdirSync(sysBlockDir).filter((n) => n.startsWith('loop'));
  } catch {
    return [];
  }
  const out: Array<{ device: string; file: string }> = [];
  for (const n of names) {
    try {
      const file = readFileSync(path.join(sysBlockDir, n, 'loop', 'backing_file'), 'utf8')
        .trim()
        .replace(/ \(deleted\)$/, '');
      if (file) out.push({ device: `/dev/${n}`, file });
    } catch {
      // not attached
    }
  }
  return out;
}

/** What lies at or under dir and would make removing it unsafe: mount points, loop devices backed by files in it. */
export function holdersUnder(dir: string, o: SafeRemoveOptions = {}): string[] {
  if (!existsSync(dir)) return [];
  const real = realpathSync(dir);
  const mounts = parseMountInfo(readFileSync(o.mountInfoFile ?? '/proc/self/mountinfo', 'utf8'))
    .filter((e) => under(e.mountPoint, real))
    .map((e) => `${e.fsType} ${e.source} is mounted at ${e.mountPoint}`);
  const loops = loopBackings(o.sysBlockDir ?? '/sys/block')
    .filter((l) => under(l.file, real))
    .map((l) => `${l.device} is attached to ${l.file}`);
  return [...mounts, ...loops];
}

/** Remove dir recursively, or throw DirectoryInUseError (touching nothing) when anything is mounted or attached under it. */
export function removeDirSafely(dir: string, o: SafeRemoveOptions = {}): void {
  if (!existsSync(dir)) return;
  const holders = holdersUnder(dir, o);
  if (holders.length) throw new DirectoryInUseError(dir, holders);
  rmSync(dir, { recursive: true, force: true });
}
