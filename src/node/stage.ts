import { promises as fsp } from 'node:fs';
import type { NodeStageVolumeRequest__Output } from '../generated/csi/v1/NodeStageVolumeRequest';
import type { NodeStageVolumeResponse } from '../generated/csi/v1/NodeStageVolumeResponse';
import { alreadyExists, failedPrecondition } from '../domain/failure';
import type { CallContext } from '../grpc/service';
import { lstatOrUndefined } from '../host/fs';
import type { BlockDevice } from './connector';
import { confinePath } from './confine';
import { stageEncrypted } from './crypt-volume';
import { callDeadline, type NodeDeps } from './deps';
import { type FsType, growFilesystem, isSupportedFs, makeFilesystem, stagingMountOptions } from './filesystem';
import { unmountOwned } from './ownership';
import { checkReachable } from './node-topology';
import { probeDevice } from './probe';
import { fsMinimumBytes } from '../domain/sizes';
import { type Capability, checkAccessType, fsTypeOf, mkfsArgsOf, parseCapability, requirePath, requireVolumeId, volumeTarget } from './validate';

/**
 * NodeStageVolume. Block: connect only. Filesystem: connect, then make sure the staging path shows this NQN's
 * device: already mounted from it → done; mounted from anything else (a stale mount from before a reconnect) →
 * unmounted and mounted again; not mounted → probe, format only when the probe is unambiguous, mount, grow.
 */

export async function stageVolume(d: NodeDeps, req: NodeStageVolumeRequest__Output, ctx: CallContext): Promise<NodeStageVolumeResponse> {
  const vol = requireVolumeId(req.volumeId);
  const volumeId = vol.id;
  const stagingArg = requirePath('staging_target_path', req.stagingTargetPath);
  const cap = parseCapability(req.volumeCapability);
  checkAccessType(req.volumeContext ?? {}, cap);
  const mkfsArgs = mkfsArgsOf(req.volumeContext ?? {}, cap);
  const target = volumeTarget(vol, d.nqnPrefix, d.opts.connect, req.volumeContext ?? {}, req.publishContext ?? {}, d.connector.kind === 'nvme-tcp');
  // A volume on an RDS backend this node did not report (node.backends) is refused before the host is looked at.
  checkReachable(d.topology, volumeId, d.opts.nodeId);
  // Last check, before anything is connected or mounted: the path lies under kubelet's dir (confine.ts).
  const staging = await confinePath(d.opts.kubeletDir, 'staging_target_path', stagingArg, 'act');
  return d.locks.run(vol.slot, async () => {
    const dev = await stageEncrypted(d, req, target, cap.readOnlyMode, () => d.connector.attach(target, callDeadline(ctx, d.opts.deviceWaitMs)));
    if (cap.kind === 'mount') await ensureStagedFs(d, { ...target, mkfsArgs }, dev, staging, cap, true);
    return {};
  });
}

async function ensureDir(p: string): Promise<void> {
  const st = await lstatOrUndefined(p);
  if (!st) await fsp.mkdir(p, { recursive: true, mode: 0o750 });
  else if (!st.isDirectory()) throw failedPrecondition(`${p} exists and is not a directory`);
}

/** A file system mkfs cannot make on a device this small is refused before mkfs runs (domain/sizes.ts). */
async function checkFsMinimum(d: NodeDeps, dev: BlockDevice, fsType: FsType): Promise<void> {
  const min = fsMinimumBytes(fsType);
  // By its numbers: names may have changed, the numbers of one node do not.
  const size = (await d.host.sysfs.blockSize(dev.major, dev.minor)) ?? dev.sizeBytes;
  if (size < min)
    throw failedPrecondition(
      `the volume is ${size} bytes, ${fsType} needs at least ${min}: use ext4 or a larger volume; ${dev.path} was not formatted`,
    );
}

/** Decide the file system to mount from the probe; format only an unambiguously empty device. */
async function prepareFs(
  d: NodeDeps,
  dev: BlockDevice,
  cap: Capability,
  allowFormat: boolean,
  mkfsArgs: readonly string[] = [],
): Promise<{ fsType: FsType; formatted: boolean }> {
  const probe = await probeDevice(d.host, dev, d.opts.toolTimeoutMs);
  const wanted = cap.kind === 'mount' ? cap.fsType : '';
  switch (probe.kind) {
    case 'empty': {
      if (!allowFormat) throw failedPrecondition(`${dev.path} holds no file system; it was staged before, so it is not formatted now`);
      if (cap.readOnlyMode) throw failedPrecondition(`${dev.path} holds no file system and the access mode is read-only; nothing to mount`);
      const fsType = fsTypeOf(cap);
      await checkFsMinimum(d, dev, fsType);
      d.log.info({ device: dev.path, fsType }, 'probe found nothing on the device; formatting');
      await makeFilesystem(d.host, dev, fsType, d.opts.formatTimeoutMs, mkfsArgs);
      return { fsType, formatted: true };
    }
    case 'filesystem':
      if (wanted && probe.type !== wanted)
        throw failedPrecondition(`${dev.path} already holds ${probe.type} but the capability asks for ${wanted}; not reformatting`);
      if (!isSupportedFs(probe.type)) throw failedPrecondition(`${dev.path} holds ${probe.type}, which this driver does not mount`);
      return { fsType: probe.type, formatted: false };
    case 'partitioned':
      throw failedPrecondition(`${dev.path} holds a ${probe.ptType} partition table; not formatting and not mounting it`);
    case 'other':
      throw failedPrecondition(`${dev.path} holds ${probe.type} (not a file system); not formatting and not mounting it`);
  }
}

export async function ensureStagedFs(
  d: NodeDeps,
  t: { volumeId: string; nqn: string; mkfsArgs?: readonly string[] },
  dev: BlockDevice,
  staging: string,
  cap: Capability,
  allowFormat: boolean,
): Promise<void> {
  const { volumeId, nqn } = t;
  await ensureDir(staging);
  const top = await d.mounter.mountAt(staging);
  if (top && top.major === dev.major && top.minor === dev.minor) {
    if (cap.kind === 'mount' && cap.fsType && top.fsType !== cap.fsType)
      throw alreadyExists(`${staging} is staged with ${top.fsType}, not ${cap.fsType}`);
    return;
  }
  if (top) {
    // A stale mount of this volume is taken down and remounted from the NQN's device; only one attributable to the
    // volume (ownership.ts) — a foreign one is refused, untouched.
    await unmountOwned(d, volumeId, nqn, staging);
  }
  const { fsType, formatted } = await prepareFs(d, dev, cap, allowFormat, t.mkfsArgs);
  const flags = cap.kind === 'mount' ? cap.flags : [];
  const readOnly = cap.readOnlyMode || flags.includes('ro');
  await d.mounter.mount(dev.path, staging, fsType, stagingMountOptions(fsType, flags, readOnly), d.opts.toolTimeoutMs);
  if (readOnly || formatted) return; // a fresh file system already fills the device
  try {
    await growFilesystem(d.host, dev, fsType, staging, d.opts.formatTimeoutMs);
  } catch (err) {
    // The volume is usable at its old size; NodeExpandVolume grows it later. Failing here would leave it unstaged.
    d.log.warn({ device: dev.path, err: (err as Error).message }, 'grow after mount failed');
  }
}
