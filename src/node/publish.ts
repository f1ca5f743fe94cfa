import { promises as fsp } from 'node:fs';
import { nqnFor } from '../domain/ids';
import type { NodePublishVolumeRequest__Output } from '../generated/csi/v1/NodePublishVolumeRequest';
import type { NodePublishVolumeResponse } from '../generated/csi/v1/NodePublishVolumeResponse';
import type { NodeUnpublishVolumeRequest__Output } from '../generated/csi/v1/NodeUnpublishVolumeRequest';
import type { NodeUnpublishVolumeResponse } from '../generated/csi/v1/NodeUnpublishVolumeResponse';
import { alreadyExists, failedPrecondition } from '../domain/failure';
import { lstatOrUndefined, splitDev } from '../host/fs';
import { publishBlock } from './block-node';
import { confinePath } from './confine';
import { publishedDevice } from './crypt-volume';
import type { NodeDeps } from './deps';
import { ownership, unmountOwned } from './ownership';
import { checkSingleWriter } from './single-writer';
import { ensureStagedFs } from './stage';
import { checkAccessType, parseCapability, requirePath, requireVolumeId, volumeTarget } from './validate';

/**
 * NodePublishVolume / NodeUnpublishVolume. Publish never connects: the NQN's device must be there (staged).
 * Filesystem: bind the staging mount to the target (read-only honoured); a stale staging mount is recovered
 * first (remounted from the current device, never formatted). Block: a device node at the target.
 * Unpublish: unmount, layer by layer, what is attributable to the named volume (ownership.ts) until the target is
 * not a mountpoint, then remove it without recursion; a mount or device node that is not the volume's is left
 * alone with FAILED_PRECONDITION.
 */

export async function publishVolume(d: NodeDeps, req: NodePublishVolumeRequest__Output): Promise<NodePublishVolumeResponse> {
  const vol = requireVolumeId(req.volumeId);
  const volumeId = vol.id;
  const targetArg = requirePath('target_path', req.targetPath);
  const stagingArg = requirePath('staging_target_path', req.stagingTargetPath);
  const cap = parseCapability(req.volumeCapability);
  checkAccessType(req.volumeContext ?? {}, cap);
  const target = volumeTarget(vol, d.nqnPrefix, d.opts.connect, req.volumeContext ?? {}, req.publishContext ?? {}, false);
  // Last checks, before anything is created, unmounted or mounted: both paths lie under kubelet's dir (confine.ts).
  const targetPath = await confinePath(d.opts.kubeletDir, 'target_path', targetArg, 'act');
  const staging = await confinePath(d.opts.kubeletDir, 'staging_target_path', stagingArg, 'act');
  const readOnly = req.readonly || cap.readOnlyMode;
  return d.locks.run(vol.slot, async () => {
    const dev = await publishedDevice(d, req.volumeContext, volumeId, await d.connector.find(target.nqn)); // the LUKS2 mapping when encrypted
    if (!dev) throw failedPrecondition(`volume ${volumeId} is not staged on this node (no device for ${target.nqn}); NodeStageVolume first`);
    if (cap.singleWriter) await checkSingleWriter(d, volumeId, dev, cap.kind, targetPath, staging);
    if (cap.kind === 'block') {
      await publishBlock(d, target, dev, targetPath, readOnly);
      return {};
    }
    const sm = await d.mounter.mountAt(staging);
    if (!sm) throw failedPrecondition(`volume ${volumeId} is not staged at ${staging}; NodeStageVolume first`);
    if (sm.major !== dev.major || sm.minor !== dev.minor) await ensureStagedFs(d, target, dev, staging, cap, false);
    const tm = await d.mounter.mountAt(targetPath);
    if (tm && tm.major === dev.major && tm.minor === dev.minor) {
      if (tm.options.includes('ro') !== readOnly) throw alreadyExists(`${targetPath} is already published ${readOnly ? 'read-write' : 'read-only'}`);
      return {};
    }
    if (tm) await unmountOwned(d, volumeId, target.nqn, targetPath); // stale binds of this volume only
    const st = await lstatOrUndefined(targetPath);
    if (!st) await fsp.mkdir(targetPath, { recursive: true, mode: 0o750 });
    else if (!st.isDirectory()) throw failedPrecondition(`${targetPath} exists and is not a directory`);
    await d.mounter.bind(staging, targetPath, readOnly, d.opts.toolTimeoutMs);
    return {};
  });
}

export async function unpublishVolume(d: NodeDeps, req: NodeUnpublishVolumeRequest__Output): Promise<NodeUnpublishVolumeResponse> {
  const vol = requireVolumeId(req.volumeId);
  const volumeId = vol.id;
  // Confined to kubelet's dir (confine.ts) before anything is unmounted or removed.
  const targetPath = await confinePath(d.opts.kubeletDir, 'target_path', requirePath('target_path', req.targetPath), 'act');
  const nqn = nqnFor(d.nqnPrefix, vol.slot);
  return d.locks.run(vol.slot, async () => {
    const st = await lstatOrUndefined(targetPath);
    const node = st?.isBlockDevice() ? splitDev(st.rdev) : undefined;
    if (node && !(await d.mounter.mountAt(targetPath))) {
      const o = await ownership(d, nqn, await d.connector.find(nqn), node);
      if (!o.ours)
        throw failedPrecondition(
          `${targetPath} is a device node of ${node.major}:${node.minor}, which is not volume ${volumeId}'s: ${o.why}; the driver refuses to remove it`,
        );
    }
    const n = await unmountOwned(d, volumeId, nqn, targetPath);
    const removed = await d.mounter.removeNonRecursive(targetPath);
    // The volume is not published at the path any more (or never was: nothing of it was mounted there), so the call
    // has done its work; what is left in the directory is not the volume's — kept, never deleted (as in unstage).
    if (removed === 'left')
      d.log.warn({ volumeId, targetPath, unmounted: n }, 'target path is not empty after unmounting; left in place, not deleted');
    return {};
  });
}
