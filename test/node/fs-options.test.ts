import { status } from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMountInfo } from '../../src/host/mountinfo';
import { codeOf } from '../support/csi-client';
import { blkidType, describeRoot, loopDevicesUnder, MiB, type NodeEnv, startNodeEnv } from './support';

/**
 * Filesystem choices on the node (issue 15 item 7), on real loop devices, mkfs and mounts: an allowed mkfsOptions
 * takes effect (read back from the made file system with tune2fs / xfs_info), mount_flags reach the staging mount and
 * the publish bind (read back from /proc/self/mountinfo), and what the allow-lists refuse is INVALID_ARGUMENT before
 * anything is connected or formatted.
 */

const cap = (fsType: string, mountFlags: string[] = []): object => ({ mount: { fsType, mountFlags }, accessMode: { mode: 'SINGLE_NODE_WRITER' } });

function mountOptionsAt(p: string): string[] {
  const all = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')).filter((e) => e.mountPoint === p);
  return all[all.length - 1]?.options ?? [];
}

/** [fs, mkfsOptions, size, how to read the effect back, what it must show, what the default would show]. */
const MKFS_CASES: Array<[string, string, number, (dev: string, mnt: string) => string, RegExp]> = [
  ['ext4', '-m 0', 64 * MiB, (dev) => execFileSync('tune2fs', ['-l', dev], { encoding: 'utf8' }), /^Reserved block count:\s+0$/m],
  ['ext4', '-I 512 -E lazy_itable_init=0', 64 * MiB, (dev) => execFileSync('tune2fs', ['-l', dev], { encoding: 'utf8' }), /^Inode size:\s+512$/m],
  ['xfs', '-i size=1024', 320 * MiB, (_dev, mnt) => execFileSync('xfs_info', [mnt], { encoding: 'utf8' }), /isize=1024/],
];

describeRoot('node plugin, mkfsOptions and mount_flags (loop connector)', () => {
  let env: NodeEnv;
  beforeAll(async () => {
    env = await startNodeEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  test.each(MKFS_CASES)('%s with mkfsOptions "%s" takes effect', async (fsType, mkfsOptions, size, readBack, shows) => {
    const id = `vol-mkfs-${fsType}-${mkfsOptions.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`.replace(/-+$/, '');
    env.createVolume(id, size);
    const staging = path.join(env.dir, 'staging', id);
    const req = { volumeId: id, stagingTargetPath: staging, volumeCapability: cap(fsType), volumeContext: { ...env.volumeContext(id), mkfsOptions } };
    await env.client.nodeCall('NodeStageVolume', req);
    const dev = await env.app.connector.find(`${env.cfg.nqnPrefix}:${id}`);
    expect(blkidType(dev?.path ?? '')).toBe(fsType);
    expect(readBack(dev?.path ?? '', staging)).toMatch(shows);
    await env.client.nodeCall('NodeStageVolume', req); // idempotent: not formatted again
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
  });

  test('mount_flags reach the staging mount and the publish bind (read-only publish keeps them)', async () => {
    const id = 'vol-mount-flags';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging', id);
    const [t1, t2] = [path.join(env.dir, 'pods', 'p1', id), path.join(env.dir, 'pods', 'p2', id)];
    const base = {
      volumeId: id,
      stagingTargetPath: staging,
      volumeCapability: cap('ext4', ['noatime', 'noexec,nodev']),
      volumeContext: env.volumeContext(id),
    };
    await env.client.nodeCall('NodeStageVolume', base);
    expect(mountOptionsAt(staging)).toEqual(expect.arrayContaining(['noatime', 'noexec', 'nodev']));
    await env.client.nodeCall('NodePublishVolume', { ...base, targetPath: t1 });
    await env.client.nodeCall('NodePublishVolume', { ...base, targetPath: t2, readonly: true });
    expect(mountOptionsAt(t1)).toEqual(expect.arrayContaining(['rw', 'noatime', 'noexec', 'nodev']));
    expect(mountOptionsAt(t2)).toEqual(expect.arrayContaining(['ro', 'noatime', 'noexec', 'nodev']));
    for (const t of [t1, t2]) await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: t });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
  });

  /** [what, fs, mkfsOptions, mount flags, message]. Each is refused at NodeStage before anything is connected. */
  const REFUSED: Array<[string, string, string, string[], RegExp]> = [
    ['force flag -F', 'ext4', '-F', [], /option "-F" is not allowed for ext4/],
    ['force flag -f (xfs)', 'xfs', '-f', [], /option "-f" is not allowed for xfs/],
    ['a device as positional argument', 'ext4', '-m 0 /dev/sda', [], /option "\/dev\/sda" is not allowed.*names the device itself/],
    ['a label (host could mount it by LABEL=)', 'ext4', '-L root', [], /option "-L" is not allowed/],
    ['a type override', 'ext4', '-t ext2', [], /option "-t" is not allowed/],
    ['populate from a host directory', 'ext4', '-d /etc', [], /option "-d" is not allowed for ext4/],
    ['an undo file on the host', 'ext4', '-z /tmp/undo', [], /option "-z" is not allowed/],
    ['a feature switched off', 'ext4', '-O ^has_journal', [], /-O feature "\^has_journal" is not allowed/],
    ['an extended option off the list', 'ext4', '-E root_owner=0:0', [], /-E key "root_owner" is not allowed/],
    ['reserved percentage out of range', 'ext4', '-m 99', [], /-m 99 is not an allowed value/],
    ['a shell metacharacter', 'ext4', '-m 0;reboot', [], /-m 0;reboot is not an allowed value/],
    ['an option without its value', 'ext4', '-m', [], /option -m needs a value/],
    ['xfs external log device', 'xfs', '-l logdev=/dev/sda', [], /-l key "logdev" is not allowed/],
    ['xfs uuid', 'xfs', '-m uuid=00000000-0000-0000-0000-000000000001', [], /-m key "uuid" is not allowed/],
    ['xfs data file', 'xfs', '-d file=1,name=/etc/passwd', [], /-d key "file" is not allowed/],
    ['ext4 option for xfs', 'xfs', '-m 0', [], /-m key "0" is not allowed/],
    ['mount flag bind', 'ext4', '', ['bind'], /mount flag bind is not allowed/],
    ['mount flag remount hidden after a comma', 'ext4', '', ['noatime,remount'], /mount flag remount is not allowed/],
    ['mount flag nobarrier', 'ext4', '', ['nobarrier'], /mount flag nobarrier is not allowed/],
    ['mount flag errors=panic', 'ext4', '', ['errors=panic'], /mount flag errors=panic is not allowed/],
    ['mount flag uid=0', 'ext4', '', ['uid=0'], /mount flag uid=0 is not allowed/],
    ['mount flag of another device', 'ext4', '', ['journal_path=/dev/sda'], /characters that are not allowed/],
    ['mount flag with a space', 'ext4', '', ['noatime exec'], /characters that are not allowed/],
  ];

  test.each(REFUSED)('NodeStage refuses %s: INVALID_ARGUMENT, nothing connected or formatted', async (what, fsType, mkfsOptions, flags, message) => {
    const id = `vol-refused-${what.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`.slice(0, 60).replace(/-+$/, '');
    const file = env.createVolume(id, fsType === 'xfs' ? 320 * MiB : 64 * MiB);
    const loopsBefore = loopDevicesUnder(env.dir).length;
    const staging = path.join(env.dir, 'staging', id);
    const volumeContext = mkfsOptions ? { ...env.volumeContext(id), mkfsOptions } : env.volumeContext(id);
    const req = { volumeId: id, stagingTargetPath: staging, volumeCapability: cap(fsType, flags), volumeContext };
    const r = await codeOf(env.client.nodeCall('NodeStageVolume', req));
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.details).toMatch(message);
    expect(loopDevicesUnder(env.dir).length).toBe(loopsBefore);
    expect(blkidType(file)).toBe('');
    if (flags.length) {
      const p = await codeOf(env.client.nodeCall('NodePublishVolume', { ...req, targetPath: path.join(env.dir, 'pods', 'x', id) }));
      expect(p.code).toBe(status.INVALID_ARGUMENT);
      expect(p.details).toMatch(message);
    }
  });
});
