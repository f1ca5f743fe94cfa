import { nqnFor } from '../domain/ids';
import type { NodeUnstageVolumeRequest__Output } from '../generated/csi/v1/NodeUnstageVolumeRequest';
import type { NodeUnstageVolumeResponse } from '../generated/csi/v1/NodeUnstageVolumeResponse';
import { failedPrecondition } from '../domain/failure';
import { canonical } from '../host/fs';
import { confinePath } from './confine';
import { closeMapping, stagedDevice } from './crypt-volume';
import type { NodeDeps } from './deps';
import { unmountOwned } from './ownership';
import { requirePath, requireVolumeId } from './validate';

/**
 * NodeUnstageVolume: unmount the staging path, layer by layer, while what it shows is attributable to the named
 * volume (ownership.ts; a foreign mount is left alone with FAILED_PRECONDITION) until it is not a mountpoint, remove it without recursion, then
 * disconnect the NQN — unless its device is still mounted anywhere (a publish target, a stray mount) or held by
 * device-mapper: then FAILED_PRECONDITION, so nothing is pulled from under a user.
 */
export async function unstageVolume(d: NodeDeps, req: NodeUnstageVolumeRequest__Output): Promise<NodeUnstageVolumeResponse> {
  const vol = requireVolumeId(req.volumeId);
  const volumeId = vol.id;
  // Confined to kubelet's dir (confine.ts) before anything is looked at under the lock, unmounted or removed.
  const staging = await confinePath(d.opts.kubeletDir, 'staging_target_path', requirePath('staging_target_path', req.stagingTargetPath), 'act');
  const nqn = nqnFor(d.nqnPrefix, vol.slot);
  return d.locks.run(vol.slot, async () => {
    const stagingPath = await canonical(staging);
    /** Why the device may not be disconnected (it is mounted or held), or undefined. */
    const busy = async (ignoreStaging: boolean): Promise<string | undefined> => {
      const dev = await stagedDevice(d, volumeId, await d.connector.find(nqn)); // an encrypted volume's mapping holds its device
      if (!dev) return undefined;
      const users = (await d.host.mounts()).ofDevice(dev.major, dev.minor).filter((u) => !ignoreStaging || u.mountPoint !== stagingPath);
      if (users.length)
        return `device ${dev.path} of volume ${volumeId} is still mounted at ${users.map((u) => u.mountPoint).join(', ')}; not unstaging`;
      const holders = await d.host.sysfs.blockHolders(dev.major, dev.minor);
      if (holders.length) return `device ${dev.path} of volume ${volumeId} is held by ${holders.join(', ')}; not unstaging`;
      return undefined;
    };
    const inUse = async (ignoreStaging: boolean): Promise<void> => {
      const why = await busy(ignoreStaging);
      if (why) throw failedPrecondition(why);
    };
    // Not staged at this path ("MUST reply 0 OK", spec NodeUnstageVolume) while the device is in use elsewhere (staged
    // at another path, published): nothing here to undo, and the device stays. With the device unused, an earlier
    // unstage that unmounted but did not disconnect is finished below.
    if (!(await d.mounter.mountAt(staging))) {
      const why = await busy(false);
      if (why) {
        d.log.info({ volumeId, staging, why }, 'volume is not staged at this path; its device is in use elsewhere and stays connected');
        return {};
      }
    }
    // Refuse before touching anything while a publish target (or anything else) still uses the device.
    await inUse(true);
    await unmountOwned(d, volumeId, nqn, staging); // only mounts attributable to the volume; a foreign one is refused
    const removed = await d.mounter.removeNonRecursive(staging);
    if (removed === 'left') d.log.warn({ staging }, 'staging path is not empty after unmount; left in place');
    await inUse(false);
    await closeMapping(d, volumeId, nqn); // encrypted: the LUKS2 mapping, only one attributable to the volume
    await d.connector.detach(nqn);
    return {};
  });
}
