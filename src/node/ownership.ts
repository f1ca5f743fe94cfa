import path from 'node:path';
import { failedPrecondition } from '../domain/failure';
import type { MountEntry } from '../host/mountinfo';
import type { BlockDevice } from './connector';
import { mappingOwnership } from './crypt-volume';
import type { NodeDeps } from './deps';
import { isSupportedFs } from './filesystem';

/**
 * Attribution: is what a path shows (a mount, or a device node at a block target) the named volume's? Nothing is
 * unmounted, replaced or removed unless it is (docs/ARCHITECTURE.md#lessons). The device numbers are the evidence —
 * mountinfo's major:minor and a node's rdev — never the /dev name in the mount source, which a reconnect hands to
 * another namespace at once. Read from sysfs now, a path's device is the volume's when:
 *
 *  1. it is the device the volume's NQN resolves to now ('current'); a bind of the staging mount at a publish
 *     target carries the staging mount's numbers, so it is attributed the same way;
 *  2. sysfs ties it to the volume's NQN although it is not the device find() picks ('same-volume': nvme, another
 *     namespace device of the same subsystem; loop, another loop device of the volume's own backing file);
 *  3. no block device has the numbers any more ('gone'), and (for a mount) it is a file system this driver makes
 *     (ext4/xfs) mounted from a device node of the kind this connector makes (`<devRoot>/nvmeXnY`, `/loopN`):
 *     the stale mount a reconnect that renamed the device leaves behind. Its device belongs to no volume now, its
 *     I/O already fails, so unmounting it at the path the CO named for this volume can lose nothing that works.
 *
 * A device-mapper device is the volume's only as its own LUKS2 mapping (encryption at rest, crypt-volume.ts: the
 * volume's mapping name over a device of the volume's NQN); any other dm device is not.
 *
 * Everything else is not the volume's and is left alone: an anonymous device (major 0: tmpfs, overlay, nfs, fuse),
 * a live device sysfs ties to another NQN (another volume, a boot disk on the same RDS), a live device it ties to
 * no NQN of ours (a local disk, a loop device of some other file). A device number that now belongs to another
 * volume is therefore never trusted as ours: if the kernel ever handed a stale mount's numbers to a new device of
 * another volume, the mount would be refused, not unmounted. The path alone proves nothing (kubelet's staging
 * path is `…/<sha256(volume_id)>/globalmount`, its publish path names the PV, not the volume id).
 */

export type Ownership = { ours: true; how: 'current' | 'same-volume' | 'gone' } | { ours: false; why: string };

export interface Shown {
  major: number;
  minor: number;
  /** Mount source and file system type; absent for a device node. */
  source?: string;
  fsType?: string;
}

export async function ownership(d: NodeDeps, nqn: string, current: BlockDevice | undefined, shown: Shown): Promise<Ownership> {
  const numbers = `${shown.major}:${shown.minor}`;
  if (current && current.major === shown.major && current.minor === shown.minor) return { ours: true, how: 'current' };
  if (shown.major === 0)
    return {
      ours: false,
      why: `device ${numbers} is an anonymous device (a ${shown.fsType ?? 'virtual'} file system), not a block device of a volume`,
    };
  const mapped = await mappingOwnership(d, nqn, shown); // a device-mapper device: only the volume's own LUKS2 mapping
  if (mapped) return mapped;
  const owner = await d.connector.deviceOwner(shown.major, shown.minor);
  if (owner.kind === 'live') {
    if (owner.nqn === nqn) return { ours: true, how: 'same-volume' };
    return {
      ours: false,
      why: owner.nqn
        ? `device ${owner.name} (${numbers}) belongs to ${owner.nqn}`
        : `device ${owner.name} (${numbers}) is not a device of this volume`,
    };
  }
  if (shown.source === undefined) return { ours: true, how: 'gone' }; // a device node whose device no longer exists
  const fromOurKind = path.dirname(shown.source) === d.host.devRoot && d.connector.deviceName.test(path.basename(shown.source));
  if (fromOurKind && isSupportedFs(shown.fsType ?? '')) return { ours: true, how: 'gone' };
  return { ours: false, why: `its device ${numbers} no longer exists and ${shown.source} (${shown.fsType ?? '?'}) is not a mount this driver makes` };
}

/**
 * Unmount the path layer by layer while each top mount is attributable to the volume; the first one that is not
 * stops everything with FAILED_PRECONDITION naming it (nothing of it is touched). Returns the number unmounted.
 */
export async function unmountOwned(d: NodeDeps, volumeId: string, nqn: string, p: string): Promise<number> {
  const current = await d.connector.find(nqn);
  return d.mounter.unmountAll(p, d.opts.toolTimeoutMs, async (top: MountEntry) => {
    const o = await ownership(d, nqn, current, top);
    if (!o.ours) throw foreignMount(volumeId, p, top, o.why);
    if (o.how !== 'current')
      d.log.warn(
        { volumeId, path: p, source: top.source, device: `${top.major}:${top.minor}`, how: o.how },
        'unmounting a stale mount of the volume',
      );
  });
}

export function foreignMount(volumeId: string, p: string, m: MountEntry, why: string): Error {
  return failedPrecondition(
    `${p} has ${m.source} (${m.fsType}) mounted, which is not volume ${volumeId}'s: ${why}; the driver refuses to unmount it`,
  );
}
