import { promises as fsp } from 'node:fs';
import path from 'node:path';

/**
 * Reading sysfs under a configurable root (`/sys` in production, a temp tree in tests). Every read answers
 * "absent" (undefined / []) for a missing path instead of throwing, because sysfs entries come and go while
 * devices reconnect; any other error is thrown.
 */

export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENODEV' || code === 'ENXIO';
}

export class Sysfs {
  constructor(readonly root: string) {}

  path(...parts: string[]): string {
    return path.join(this.root, ...parts);
  }

  async read(...parts: string[]): Promise<string | undefined> {
    try {
      return (await fsp.readFile(this.path(...parts), 'utf8')).trim();
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  /** Writes a sysfs attribute (e.g. a controller's fast_io_fail_tmo); throws when it does not exist. */
  async write(value: string, ...parts: string[]): Promise<void> {
    const file = this.path(...parts);
    await fsp.access(file); // only an attribute the kernel has: never create one
    await fsp.writeFile(file, value);
  }

  async list(...parts: string[]): Promise<string[]> {
    try {
      return (await fsp.readdir(this.path(...parts))).sort();
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }

  async exists(...parts: string[]): Promise<boolean> {
    try {
      await fsp.stat(this.path(...parts));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  /** Size in bytes of block device major:minor from /sys/dev/block/M:m/size (512-byte sectors), if present. */
  async blockSize(major: number, minor: number): Promise<number | undefined> {
    const s = await this.read('dev', 'block', `${major}:${minor}`, 'size');
    if (s === undefined || !/^\d+$/.test(s)) return undefined;
    return Number(s) * 512;
  }

  /** Holders of a block device (device-mapper, md): a device with holders is in use even without a mount. */
  async blockHolders(major: number, minor: number): Promise<string[]> {
    return this.list('dev', 'block', `${major}:${minor}`, 'holders');
  }
}
