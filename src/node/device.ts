import path from 'node:path';
import { lstatOrUndefined, splitDev } from '../host/fs';
import type { Sysfs } from '../host/sysfs';
import { type BlockDevice, HostError } from './connector';

/**
 * From a kernel block device name to a checked BlockDevice: the dev numbers come from sysfs, and the node under
 * devRoot must be a block device with exactly those numbers (a stale or foreign node is never used).
 */

export async function blockDeviceOf(sysfs: Sysfs, devRoot: string, name: string): Promise<BlockDevice | undefined> {
  const dev = await sysfs.read('class', 'block', name, 'dev');
  const m = dev?.match(/^(\d+):(\d+)$/);
  if (!m) return undefined;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const sectors = await sysfs.read('class', 'block', name, 'size');
  const sizeBytes = sectors && /^\d+$/.test(sectors) ? Number(sectors) * 512 : 0;
  const p = path.join(devRoot, name);
  const st = await lstatOrUndefined(p);
  if (!st?.isBlockDevice()) return undefined;
  const actual = splitDev(st.rdev);
  if (actual.major !== major || actual.minor !== minor) return undefined;
  return { name, path: p, major, minor, sizeBytes };
}

/** Kernel name of the block device with these numbers right now (from `class/block/<name>/dev`), or undefined. */
export async function blockNameOf(sysfs: Sysfs, major: number, minor: number): Promise<string | undefined> {
  const want = `${major}:${minor}`;
  for (const name of await sysfs.list('class', 'block')) {
    if ((await sysfs.read('class', 'block', name, 'dev')) === want) return name;
  }
  return undefined;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Poll `find` until it yields a device with a non-zero size or the deadline passes. A namespace appears a moment
 * after `nvme connect` returns, and with size 0 while the controller is still initialising: neither is usable.
 */
export async function waitForDevice(find: () => Promise<BlockDevice | undefined>, deadline: number, what: string): Promise<BlockDevice> {
  let delay = 20;
  let last: BlockDevice | undefined;
  for (;;) {
    last = await find();
    if (last && last.sizeBytes > 0) return last;
    if (Date.now() + delay > deadline) break;
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
  const why = last ? `device ${last.path} still has size 0` : 'no block device appeared';
  throw new HostError(`${what}: ${why} before the deadline`, 'unavailable');
}
