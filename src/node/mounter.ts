import { promises as fsp } from 'node:fs';
import { canonical, lstatOrUndefined } from '../host/fs';
import type { MountEntry } from '../host/mountinfo';
import type { HostPort } from '../host/port';
import { describeResult, ok } from '../host/run';
import { HostError, type HostFailureKind } from './connector';

/**
 * Mount, bind, unmount and remove — each decided from the live mount table. Unmounting repeats until the path is
 * no longer a mountpoint (stacked bind mounts), and every layer is first shown to `vet`, which throws to refuse it
 * (attribution to the named volume lives in ownership.ts; the mounter only does what it is allowed). Removal is never recursive: a directory is rmdir'ed (which
 * fails on anything inside it), a device node or empty file unlinked; anything else is left alone.
 */

export interface Mounter {
  /** The topmost mount at the path, if the path is a mountpoint. */
  mountAt(p: string): Promise<MountEntry | undefined>;
  mount(source: string, target: string, fsType: string, options: string[], timeoutMs: number): Promise<void>;
  bind(source: string, target: string, readOnly: boolean, timeoutMs: number): Promise<void>;
  /** Unmount the top mount while there is one, each only after `vet(top)` returned (it throws to refuse). */
  unmountAll(p: string, timeoutMs: number, vet: (top: MountEntry) => Promise<void>): Promise<number>;
  removeNonRecursive(p: string): Promise<'removed' | 'absent' | 'left'>;
}

const MAX_STACK = 64;
/** mount(8) "RETURN CODES": 32 = mount failure (1 usage, 2 system error, 4 internal bug, 8 interrupted, 16 mtab, 64 some succeeded). */
const MOUNT_FAILURE = 32;

export function mounter(host: HostPort): Mounter {
  const mountAt = async (p: string): Promise<MountEntry | undefined> => (await host.mounts()).top(await canonical(p));

  const run = async (args: string[], timeoutMs: number, what: string, failure: HostFailureKind = 'internal'): Promise<void> => {
    const r = await host.run(args[0] ?? '', args.slice(1), { timeoutMs });
    if (!ok(r))
      throw new HostError(`${what} failed: ${describeResult(r)}`, r.timedOut ? 'unavailable' : r.code === MOUNT_FAILURE ? failure : 'internal');
  };

  return {
    mountAt,
    async mount(source, target, fsType, options, timeoutMs) {
      const args = ['mount', '-t', fsType];
      if (options.length) args.push('-o', options.join(','));
      // Exit 32 is the kernel refusing this source with these options (wrong or damaged file system, the file system
      // already mounted elsewhere with another read-only flag, an option it does not know): a condition of the
      // volume and the request, FAILED_PRECONDITION with mount's own message — not a fault of the node.
      await run([...args, source, target], timeoutMs, `mounting ${source} at ${target}`, 'precondition');
    },
    async bind(source, target, readOnly, timeoutMs) {
      await run(['mount', '--bind', source, target], timeoutMs, `bind mount of ${source} at ${target}`);
      // A bind mount ignores "ro" on the first call; a remount of the bind makes the read-only flag stick.
      if (readOnly) await run(['mount', '-o', 'remount,bind,ro', target], timeoutMs, `read-only remount of ${target}`);
    },
    async unmountAll(p, timeoutMs, vet) {
      let count = 0;
      const target = await canonical(p);
      for (let top = (await host.mounts()).top(target); top; top = (await host.mounts()).top(target)) {
        if (count >= MAX_STACK) throw new HostError(`${target} is still a mountpoint after ${MAX_STACK} unmounts`, 'internal');
        await vet(top);
        const r = await host.run('umount', [target], { timeoutMs });
        if (!ok(r) && (await host.mounts()).isMountPoint(target))
          throw new HostError(`unmount of ${target} failed: ${describeResult(r)}`, r.timedOut ? 'unavailable' : 'internal');
        count++;
      }
      return count;
    },
    async removeNonRecursive(p) {
      const st = await lstatOrUndefined(p);
      if (!st) return 'absent';
      if ((await host.mounts()).isMountPoint(await canonical(p))) throw new HostError(`${p} is still a mountpoint; not removing it`, 'internal');
      try {
        if (st.isDirectory()) await fsp.rmdir(p);
        else if (st.isBlockDevice() || st.isCharacterDevice() || (st.isFile() && st.size === 0n) || st.isSymbolicLink()) await fsp.unlink(p);
        else return 'left';
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return 'absent';
        if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'EBUSY') return 'left';
        throw err;
      }
      return 'removed';
    },
  };
}
