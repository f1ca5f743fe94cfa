import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { failedPrecondition } from '../domain/failure';
import { canonical, lstatOrUndefined, splitDev } from '../host/fs';
import { describeResult, ok } from '../host/run';
import { type BlockDevice, HostError } from './connector';
import type { NodeDeps } from './deps';
import { ownership, unmountOwned } from './ownership';

/**
 * Block publish: a device node made with mknod at the target file — never a bind mount of a /dev node (under
 * Bidirectional propagation that multiplied devtmpfs mounts until nodes wedged). Re-publish compares the node's
 * rdev with the NQN's current device (numbers change after a reconnect) and replaces a stale node atomically
 * (mknod at a temp name, rename over the target).
 */

function modeFor(readOnly: boolean): string {
  // Permission bits are advisory for a privileged container; they document intent and stop unprivileged readers.
  return readOnly ? '0440' : '0660';
}

export async function publishBlock(
  d: NodeDeps,
  t: { volumeId: string; nqn: string },
  dev: BlockDevice,
  target: string,
  readOnly: boolean,
): Promise<void> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  // A bind mount of this volume left at the target (by an older driver or by hand) is taken down first; one that
  // is not the volume's is refused (ownership.ts).
  if ((await d.host.mounts()).isMountPoint(await canonical(target))) await unmountOwned(d, t.volumeId, t.nqn, target);
  const st = await lstatOrUndefined(target);
  if (st?.isBlockDevice()) {
    const cur = splitDev(st.rdev);
    const wantMode = parseInt(modeFor(readOnly), 8);
    if (cur.major === dev.major && cur.minor === dev.minor && (Number(st.mode) & 0o777) === wantMode) return;
    const o = await ownership(d, t.nqn, dev, cur);
    if (!o.ours)
      throw failedPrecondition(
        `${target} is a device node of ${cur.major}:${cur.minor}, which is not volume ${t.volumeId}'s: ${o.why}; not replacing it`,
      );
    d.log.info({ target, was: `${cur.major}:${cur.minor}`, now: `${dev.major}:${dev.minor}` }, 'replacing block device node');
  } else if (st?.isDirectory()) {
    try {
      await fsp.rmdir(target);
    } catch {
      throw failedPrecondition(`${target} is a non-empty directory; a block volume needs a file path there`);
    }
  } else if (st && !(st.isFile() && st.size === 0n)) {
    throw failedPrecondition(`${target} exists and is neither a device node nor an empty file; not replacing it`);
  }
  const tmp = `${target}.rds-csi-tmp`;
  await fsp.rm(tmp, { force: true });
  const r = await d.host.run('mknod', ['-m', modeFor(readOnly), tmp, 'b', String(dev.major), String(dev.minor)], { timeoutMs: d.opts.toolTimeoutMs });
  if (!ok(r)) throw new HostError(`mknod at ${tmp} failed: ${describeResult(r)}`, 'internal');
  await fsp.rename(tmp, target);
}
