import { nqnFor } from '../domain/ids';
import type { NodeGetVolumeStatsRequest__Output } from '../generated/csi/v1/NodeGetVolumeStatsRequest';
import type { NodeGetVolumeStatsResponse } from '../generated/csi/v1/NodeGetVolumeStatsResponse';
import type { VolumeCondition } from '../generated/csi/v1/VolumeCondition';
import type { VolumeUsage } from '../generated/csi/v1/VolumeUsage';
import { notFound } from '../domain/failure';
import { lstatOrUndefined, splitDev, statfsUsage } from '../host/fs';
import type { BlockDevice } from './connector';
import { confinePath } from './confine';
import { stagedDevice } from './crypt-volume';
import type { NodeDeps } from './deps';
import { ownership, type Shown } from './ownership';
import { requireVolumeId, requireVolumePath } from './validate';

/**
 * NodeGetVolumeStats: statfs (bytes and inodes) for a mounted volume, the device size for a block volume node.
 * The condition is abnormal when the NQN has no device, when what the path shows is not the NQN's device (a stale
 * mount after a reconnect), or when the controller does not report the volume as live. A path that is neither a
 * mountpoint nor a device node is not a volume, and a path that shows something not attributable to the named
 * volume (ownership.ts: another volume published there, a tmpfs) does not hold it: both NOT_FOUND, the spec's row
 * "a volume corresponding to the specified volume_id does not exist on specified volume_path".
 */

async function condition(
  d: NodeDeps,
  volumeId: string,
  nqn: string,
  dev: BlockDevice | undefined,
  shown: { major: number; minor: number },
): Promise<VolumeCondition> {
  if (!dev) return { abnormal: true, message: `no device for volume ${volumeId}: the NVMe connection is down or the namespace is gone` };
  if (dev.major !== shown.major || dev.minor !== shown.minor) {
    return {
      abnormal: true,
      message: `the path shows device ${shown.major}:${shown.minor} but the volume's device is ${dev.path} (${dev.major}:${dev.minor}); stale after a reconnect`,
    };
  }
  // During a target outage the namespace device stays while the controller reconnects: I/O waits, so say so.
  const link = await d.connector.linkState(nqn).catch(() => undefined);
  if (link !== undefined && link !== 'live') {
    return {
      abnormal: true,
      message: `the NVMe/TCP connection of volume ${volumeId} is ${link}: the target is unreachable; I/O waits and resumes when it returns`,
    };
  }
  return { abnormal: false, message: 'volume is healthy' };
}

export async function volumeStats(d: NodeDeps, req: NodeGetVolumeStatsRequest__Output): Promise<NodeGetVolumeStatsResponse> {
  const vol = requireVolumeId(req.volumeId);
  const volumeId = vol.id;
  // Outside kubelet's dir or a symlink: no volume of ours can be there, NOT_FOUND (confine.ts).
  const volumePath = await confinePath(d.opts.kubeletDir, 'volume_path', requireVolumePath('volume_path', req.volumePath), 'lookup');
  const st = await lstatOrUndefined(volumePath);
  if (!st) throw notFound(`volume path ${volumePath} does not exist`);
  const nqn = nqnFor(d.nqnPrefix, vol.slot);
  const dev = await stagedDevice(d, volumeId, await d.connector.find(nqn)); // an encrypted volume shows its mapping
  const mustBeOurs = async (shown: Shown): Promise<void> => {
    const o = await ownership(d, nqn, dev, shown);
    if (!o.ours) throw notFound(`volume ${volumeId} is not at ${volumePath}: ${o.why}`);
  };
  if (st.isBlockDevice()) {
    const shown = splitDev(st.rdev);
    await mustBeOurs(shown);
    const size = (await d.host.sysfs.blockSize(shown.major, shown.minor)) ?? 0;
    return { usage: [{ unit: 'BYTES', total: String(size) }], volumeCondition: await condition(d, volumeId, nqn, dev, shown) };
  }
  const m = await d.mounter.mountAt(volumePath);
  if (!m) throw notFound(`${volumePath} is not a mounted volume`);
  await mustBeOurs(m);
  const u = await statfsUsage(volumePath);
  const usage: VolumeUsage[] = [
    { unit: 'BYTES', total: String(u.totalBytes), available: String(u.availableBytes), used: String(u.usedBytes) },
    { unit: 'INODES', total: String(u.totalInodes), available: String(u.freeInodes), used: String(u.usedInodes) },
  ];
  return { usage, volumeCondition: await condition(d, volumeId, nqn, dev, m) };
}
