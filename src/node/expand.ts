import { nqnFor } from '../domain/ids';
import type { NodeExpandVolumeRequest__Output } from '../generated/csi/v1/NodeExpandVolumeRequest';
import type { NodeExpandVolumeResponse } from '../generated/csi/v1/NodeExpandVolumeResponse';
import { failedPrecondition, invalid, notFound } from '../domain/failure';
import type { CallContext } from '../grpc/service';
import { lstatOrUndefined, splitDev } from '../host/fs';
import { confinePath } from './confine';
import { expandEncrypted } from './crypt-volume';
import { callDeadline, type NodeDeps } from './deps';
import { sleep } from './device';
import { growFilesystem } from './filesystem';
import { ownership } from './ownership';
import { accessModeOf, requirePath, requireVolumeId, requireVolumePath } from './validate';

/**
 * NodeExpandVolume: rescan the namespace so the kernel sees the size RDS now has, wait (bounded by the call's
 * deadline) until the device reaches required_bytes, grow the mounted file system, and return the measured device
 * size. Block volumes only need the rescan.
 */
export async function expandVolume(d: NodeDeps, req: NodeExpandVolumeRequest__Output, ctx: CallContext): Promise<NodeExpandVolumeResponse> {
  const vol = requireVolumeId(req.volumeId);
  const volumeId = vol.id;
  const volumePathArg = requireVolumePath('volume_path', req.volumePath);
  if (req.volumeCapability) accessModeOf(req.volumeCapability, true); // optional here, but a closed set when sent
  const stagingArg = req.stagingTargetPath ? requirePath('staging_target_path', req.stagingTargetPath) : undefined;
  const required = Number(req.capacityRange?.requiredBytes ?? '0');
  if (!Number.isSafeInteger(required) || required < 0) throw invalid('capacity_range.required_bytes is not a valid size');
  // Outside kubelet's dir or a symlink: no volume of ours can be there, NOT_FOUND (confine.ts).
  const volumePath = await confinePath(d.opts.kubeletDir, 'volume_path', volumePathArg, 'lookup');
  const staging = stagingArg ? await confinePath(d.opts.kubeletDir, 'staging_target_path', stagingArg, 'lookup') : undefined;
  const nqn = nqnFor(d.nqnPrefix, vol.slot);
  return d.locks.run(vol.slot, async () => {
    const st = await lstatOrUndefined(volumePath);
    if (!st) throw notFound(`volume path ${volumePath} does not exist`);
    const isBlock = st.isBlockDevice() || req.volumeCapability?.block != null;
    const mount = isBlock ? undefined : ((await d.mounter.mountAt(volumePath)) ?? (staging ? await d.mounter.mountAt(staging) : undefined));
    if (!isBlock && !mount) throw notFound(`${volumePath} is not a mounted volume`);
    const found = await d.connector.find(nqn);
    // What the path shows must be this volume's (ownership.ts): another volume published there is NOT_FOUND.
    const shown = st.isBlockDevice() ? splitDev(st.rdev) : mount;
    const o = shown ? await ownership(d, nqn, found, shown) : undefined;
    if (o && !o.ours) throw notFound(`volume ${volumeId} is not at ${volumePath}: ${o.why}`);
    if (!found) throw notFound(`volume ${volumeId} is not connected on this node`);
    await d.connector.rescan(nqn);
    const deadline = callDeadline(ctx, d.opts.deviceWaitMs);
    let dev = await d.connector.find(nqn);
    while (dev && dev.sizeBytes < required && Date.now() < deadline) {
      await sleep(100);
      dev = await d.connector.find(nqn);
    }
    if (!dev) throw notFound(`the device of volume ${volumeId} went away during the rescan; it is not connected on this node`);
    // Not UNAVAILABLE: the spec's NodeExpandVolume table has no row for it. Not OUT_OF_RANGE either: that row is "the
    // capacity range is not allowed by the Plugin", and kubelet marks it infeasible (pkg/volume/csi/expander.go
    // isInfeasibleError: INVALID_ARGUMENT, OUT_OF_RANGE, NOT_FOUND) — stuck until the user edits the PVC — although
    // the range is fine once ControllerExpandVolume has grown the disk. FAILED_PRECONDITION is the volume's state:
    // kubelet takes it as "expand later" (inUseError) and tries again at the next stage instead of looping.
    if (dev.sizeBytes < required) {
      throw failedPrecondition(
        `the device ${dev.path} has ${dev.sizeBytes} bytes after a rescan, ${required} required: ControllerExpandVolume must grow the volume first`,
      );
    }
    dev = await expandEncrypted(d, volumeId, dev, req.secrets); // encrypted: the mapping is resized and grown instead
    if (mount) {
      if (mount.major !== dev.major || mount.minor !== dev.minor)
        throw failedPrecondition(`${mount.mountPoint} shows ${mount.major}:${mount.minor}, not the volume's device ${dev.path}; restage first`);
      await growFilesystem(d.host, dev, mount.fsType, mount.mountPoint, d.opts.formatTimeoutMs);
    }
    return { capacityBytes: String(dev.sizeBytes) };
  });
}
