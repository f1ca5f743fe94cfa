import type { NodeUnstageVolumeRequest__Output } from '../generated/csi/v1/NodeUnstageVolumeRequest';
import type { NodeUnstageVolumeResponse } from '../generated/csi/v1/NodeUnstageVolumeResponse';
import { failedPrecondition } from '../grpc/errors';
import type { NodeDeps } from './deps';
import { requirePath, requireVolumeId } from './validate';

/**
 * NodeUnstageVolume: unmount the staging path until it is not a mountpoint, remove it without recursion, then
 * disconnect the NQN — unless its device is still mounted anywhere (a publish target, a stray mount) or held by
 * device-mapper: then FAILED_PRECONDITION, so nothing is pulled from under a user.
 */
export async function unstageVolume(d: NodeDeps, req: NodeUnstageVolumeRequest__Output): Promise<NodeUnstageVolumeResponse> {
  const volumeId = requireVolumeId(req.volumeId);
  const staging = requirePath('staging_target_path', req.stagingTargetPath);
  const nqn = `${d.nqnPrefix}:${volumeId}`;
  return d.locks.run(volumeId, async () => {
    await d.mounter.unmountAll(staging, d.opts.toolTimeoutMs);
    const removed = await d.mounter.removeNonRecursive(staging);
    if (removed === 'left') d.log.warn({ staging }, 'staging path is not empty after unmount; left in place');
    const dev = await d.connector.find(nqn);
    if (dev) {
      const users = (await d.host.mounts()).ofDevice(dev.major, dev.minor);
      if (users.length) throw failedPrecondition(`device ${dev.path} of volume ${volumeId} is still mounted at ${users.map((u) => u.mountPoint).join(', ')}; not disconnecting`);
      const holders = await d.host.sysfs.blockHolders(dev.major, dev.minor);
      if (holders.length) throw failedPrecondition(`device ${dev.path} of volume ${volumeId} is held by ${holders.join(', ')}; not disconnecting`);
    }
    await d.connector.detach(nqn);
    return {};
  });
}
