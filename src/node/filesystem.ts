import { checkMountFlagList } from '../domain/fs-options';
import type { HostPort } from '../host/port';
import { describeResult, ok } from '../host/run';
import { type BlockDevice, HostError } from './connector';

/**
 * The file systems the node makes and grows: ext4 (default) and xfs. mkfs is only ever called after probeDevice
 * said "empty" (see probe.ts); mkfs.xfs is run without -f so it refuses an existing file system on its own as well.
 */

export const SUPPORTED_FS = ['ext4', 'xfs'] as const;
export type FsType = (typeof SUPPORTED_FS)[number];
export const DEFAULT_FS: FsType = 'ext4';

export function isSupportedFs(t: string): t is FsType {
  return (SUPPORTED_FS as readonly string[]).includes(t);
}

/**
 * Flags from the capability, split on commas, checked against the allow-list of src/domain/fs-options.ts (the same
 * list CreateVolume checks); returns the reason for the first bad one.
 */
export function checkMountFlags(flags: readonly string[]): { flags: string[]; error?: string } {
  return checkMountFlagList(flags);
}

/** Options for the staging mount: the capability's flags, `nouuid` for xfs (clones and snapshots share UUIDs). */
export function stagingMountOptions(fsType: FsType, flags: string[], readOnly: boolean): string[] {
  const opts = flags.filter((f) => f !== 'ro');
  if (fsType === 'xfs' && !opts.includes('nouuid')) opts.push('nouuid');
  if (readOnly) opts.push('ro');
  return opts;
}

/**
 * mkfs on the volume's own, proven-blank device (probe.ts), with the volume's checked mkfsOptions. When it refuses, the reason is the volume (too small, a
 * size mkfs cannot lay out) far more often than the node, so the caller gets FAILED_PRECONDITION with mkfs's own
 * first lines (mkfs.xfs prints its reason first, then its usage text); a timeout is UNAVAILABLE (retry).
 */
export async function makeFilesystem(
  host: HostPort,
  dev: BlockDevice,
  fsType: FsType,
  timeoutMs: number,
  extraArgs: readonly string[] = [],
): Promise<void> {
  // argv, never a shell: `extraArgs` are the volume's mkfsOptions, checked against the allow-list (validate.ts
  // mkfsArgsOf, src/domain/fs-options.ts), which holds no force flag and no positional argument; the device is last.
  const r = await host.run(`mkfs.${fsType}`, ['-q', ...extraArgs, dev.path], { timeoutMs });
  if (ok(r)) return;
  if (r.timedOut) throw new HostError(`mkfs.${fsType} on ${dev.path} did not finish: ${describeResult(r)}; retry`, 'unavailable');
  const said = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(0, 3).join(' | ').slice(0, 500);
  const how = r.code === null ? `was killed by ${r.signal ?? 'a signal'}` : `exited ${r.code}`;
  throw new HostError(`mkfs.${fsType} on ${dev.path} ${how}${said ? `: ${said}` : ''}; the volume was not formatted`, 'precondition');
}

/** Grow a mounted file system to the device size (a no-op when it already fills the device). */
export async function growFilesystem(host: HostPort, dev: BlockDevice, fsType: string, mountPoint: string, timeoutMs: number): Promise<void> {
  let r;
  if (fsType === 'ext4' || fsType === 'ext3' || fsType === 'ext2') r = await host.run('resize2fs', [dev.path], { timeoutMs });
  else if (fsType === 'xfs') r = await host.run('xfs_growfs', [mountPoint], { timeoutMs });
  else throw new HostError(`cannot grow a ${fsType} file system`, 'precondition');
  if (!ok(r)) {
    // Without CAP_SYS_RESOURCE the kernel refuses online ext4 resize: this node cannot grow a mounted ext4 — the
    // NodeExpandVolume row "the underlying filesystem does not support expansion of published or staged volumes"
    // (FAILED_PRECONDITION), not a fault of the call (INTERNAL).
    const noCap = /Permission denied/i.test(r.stderr) && fsType.startsWith('ext');
    const hint = noCap ? ' (online ext4 resize needs CAP_SYS_RESOURCE in the node plugin container)' : '';
    throw new HostError(`growing ${fsType} on ${dev.path} failed${hint}: ${describeResult(r)}`, noCap ? 'precondition' : 'internal');
  }
}
