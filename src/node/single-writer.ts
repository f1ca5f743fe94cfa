import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { failedPrecondition } from '../domain/failure';
import { canonical, lstatOrUndefined, splitDev } from '../host/fs';
import type { BlockDevice } from './connector';
import { isWithin } from './confine';
import type { NodeDeps } from './deps';

/**
 * SINGLE_NODE_SINGLE_WRITER (Kubernetes ReadWriteOncePod) on the node. CSI spec, NodePublishVolume ("If the Plugin
 * supports the SINGLE_NODE_MULTI_WRITER capability, use the following table"): a second NodePublishVolume of a
 * SINGLE_NODE_SINGLE_WRITER volume at another target path answers FAILED_PRECONDITION; at the same path it is
 * idempotent (OK, or ALREADY_EXISTS when its arguments differ — publish.ts). SINGLE_NODE_MULTI_WRITER and
 * SINGLE_NODE_WRITER keep publishing at several paths of one node (kubelet maps ReadWriteOnce to
 * SINGLE_NODE_MULTI_WRITER once both services advertise it, KEP-2485).
 *
 * Where the volume is already published is read from the host, never guessed, and nothing found is touched:
 *  - filesystem: a bind of the staging mount carries the device's major:minor in /proc/self/mountinfo, so any mount
 *    of the volume's current device under kubelet's directory other than the staging path and the requested target
 *    is a publication at another path;
 *  - block: the target is a device node (block-node.ts), not a mount. kubelet puts every block publish path of one PV
 *    on this node in one directory, `plugins/kubernetes.io/csi/volumeDevices/publish/<pv>/<pod uid>`
 *    (kubernetes pkg/volume/csi/csi_block.go getPublishPath), so a sibling of the target that is a device node with
 *    the volume's device numbers is a publication at another path.
 */

/** How many entries of the block target's directory are looked at, at most (one per pod using the PV). */
const MAX_SIBLINGS = 4096;
const TMP_SUFFIX = '.rds-csi-tmp';

async function otherMountOf(d: NodeDeps, dev: BlockDevice, exclude: string[]): Promise<string | undefined> {
  const root = await fsp.realpath(d.opts.kubeletDir);
  const table = await d.host.mounts();
  const other = table.entries.find(
    (e) => e.major === dev.major && e.minor === dev.minor && !exclude.includes(e.mountPoint) && isWithin(root, e.mountPoint),
  );
  return other?.mountPoint;
}

async function otherDeviceNodeOf(dev: BlockDevice, target: string): Promise<string | undefined> {
  const dir = path.dirname(target);
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).slice(0, MAX_SIBLINGS);
  } catch {
    return undefined; // no directory yet: nothing is published beside the target
  }
  for (const name of names) {
    if (name === path.basename(target) || name.endsWith(TMP_SUFFIX)) continue;
    const st = await lstatOrUndefined(path.join(dir, name));
    if (!st?.isBlockDevice()) continue;
    const { major, minor } = splitDev(st.rdev);
    if (major === dev.major && minor === dev.minor) return path.join(dir, name);
  }
  return undefined;
}

/**
 * Throws FAILED_PRECONDITION naming the other path when the single-writer volume is already published on this node
 * at a path other than `target`. `staging`: the staging path (filesystem volumes), which is not a publication.
 */
export async function checkSingleWriter(
  d: NodeDeps,
  volumeId: string,
  dev: BlockDevice,
  kind: 'block' | 'mount',
  target: string,
  staging: string,
): Promise<void> {
  const other =
    kind === 'mount' ? await otherMountOf(d, dev, [await canonical(target), await canonical(staging)]) : await otherDeviceNodeOf(dev, target);
  if (other === undefined) return;
  throw failedPrecondition(
    `volume ${volumeId} is SINGLE_NODE_SINGLE_WRITER (ReadWriteOncePod) and already published on this node at ${other}; ` +
      'unpublish it there first (one workload at a time)',
  );
}
