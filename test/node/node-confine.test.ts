import { status } from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { codeOf } from '../support/csi-client';
import { cleanupDir, describeRoot, isMountPoint, MOUNT_CAP, type NodeEnv, startNodeEnv } from './support';

/**
 * Issue 18 item 1 on real mounts: the node plugin acts only on paths under kubelet's directory. The four cases the
 * security review reproduced, each refused with nothing unmounted, removed or mounted:
 *   1. NodeUnstageVolume with a made-up volume_id at a tmpfs (and at an empty dir) outside kubelet's dir;
 *   2. NodeUnpublishVolume on a symlink inside kubelet's dir that points at a tmpfs;
 *   3. NodePublishVolume to a target whose parent is a symlink to a directory outside kubelet's dir;
 *   4. NodePublishVolume to a target that is a symlink to another mount.
 * The plugin's kubelet dir is a symlink here (`<root>/kubelet-link` → `<root>/kubelet`), so its real path is what
 * counts; `<root>/kubelet2` shares its name as a string prefix and is outside.
 */

describeRoot('node plugin confined to the kubelet dir', () => {
  let env: NodeEnv;
  let root: string;
  let kubelet: string;
  let outside: string;
  beforeAll(async () => {
    root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'rds-csi-confine-node-')));
    kubelet = path.join(root, 'kubelet');
    outside = path.join(root, 'kubelet2');
    mkdirSync(kubelet);
    mkdirSync(outside);
    symlinkSync(kubelet, path.join(root, 'kubelet-link'));
    env = await startNodeEnv({ kubeletDir: path.join(root, 'kubelet-link') });
  });
  afterAll(async () => {
    if (root) cleanupDir(root); // unmounts only what is under root, then removes it
    await env?.stop();
  });

  const tmpfsAt = (p: string): void => {
    mkdirSync(p, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', p]);
    writeFileSync(path.join(p, 'precious.txt'), 'not a volume');
  };

  /** A staged and published-able volume with its staging path under kubelet's dir. */
  async function staged(id: string): Promise<{ staging: string; base: object }> {
    env.createVolume(id);
    const staging = path.join(kubelet, 'plugins/kubernetes.io/csi/rds/', id, 'globalmount');
    const base = { volumeId: id, stagingTargetPath: staging, volumeCapability: MOUNT_CAP('ext4'), volumeContext: env.volumeContext(id) };
    await env.client.nodeCall('NodeStageVolume', base);
    expect(isMountPoint(staging)).toBe(true);
    return { staging, base };
  }

  test('1. NodeUnstageVolume with a made-up volume_id at a tmpfs outside the kubelet dir: refused, still mounted, dir still there', async () => {
    const p = path.join(outside, 'tmpfs');
    tmpfsAt(p);
    const r = await codeOf(env.client.nodeCall('NodeUnstageVolume', { volumeId: 'vol-made-up', stagingTargetPath: p }));
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.details).toMatch(new RegExp(`^staging_target_path ${JSON.stringify(p)} .*kubelet's directory`));
    expect(isMountPoint(p)).toBe(true);
    expect(readFileSync(path.join(p, 'precious.txt'), 'utf8')).toBe('not a volume');
  });

  test('1b. NodeUnstageVolume at an empty directory outside the kubelet dir: refused, the directory is not removed', async () => {
    const p = path.join(outside, 'empty');
    mkdirSync(p);
    const r = await codeOf(env.client.nodeCall('NodeUnstageVolume', { volumeId: 'vol-made-up', stagingTargetPath: p }));
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(existsSync(p)).toBe(true);
  });

  test('2. NodeUnpublishVolume on a symlink inside the kubelet dir pointing at a tmpfs: refused, still mounted, link kept', async () => {
    const mnt = path.join(outside, 'tmpfs-2');
    tmpfsAt(mnt);
    const target = path.join(kubelet, 'pods/pod-2/volumes/kubernetes.io~csi/pv-2/mount');
    mkdirSync(path.dirname(target), { recursive: true });
    symlinkSync(mnt, target);
    const r = await codeOf(env.client.nodeCall('NodeUnpublishVolume', { volumeId: 'vol-made-up', targetPath: target }));
    expect(r.code).toBe(status.FAILED_PRECONDITION);
    expect(r.details).toMatch(/symbolic link/);
    expect(isMountPoint(mnt)).toBe(true);
    expect(lstatSync(target).isSymbolicLink()).toBe(true);
  });

  test('3. NodePublishVolume to a target whose parent links outside the kubelet dir: refused, nothing mounted or created there', async () => {
    const id = 'vol-confine-3';
    const { base } = await staged(id);
    const away = path.join(outside, 'away');
    mkdirSync(away);
    const podDir = path.join(kubelet, 'pods/pod-3/volumes/kubernetes.io~csi');
    mkdirSync(podDir, { recursive: true });
    symlinkSync(away, path.join(podDir, 'pv-3'));
    const target = path.join(podDir, 'pv-3/mount');
    const r = await codeOf(env.client.nodeCall('NodePublishVolume', { ...base, targetPath: target }));
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(existsSync(path.join(away, 'mount'))).toBe(false);
    expect(isMountPoint(path.join(away, 'mount'))).toBe(false);
    // Missing directories are created only below a real ancestor inside: a chain under the link is refused too.
    const deeper = await codeOf(env.client.nodeCall('NodePublishVolume', { ...base, targetPath: path.join(podDir, 'pv-3/a/b/mount') }));
    expect(deeper.code).toBe(status.INVALID_ARGUMENT);
    expect(existsSync(path.join(away, 'a'))).toBe(false);
  });

  test('4. NodePublishVolume to a target that is a symlink to another mount: refused before anything is unmounted', async () => {
    const id = 'vol-confine-4';
    const { base } = await staged(id);
    const other = path.join(kubelet, 'other-mount');
    tmpfsAt(other);
    const target = path.join(kubelet, 'pods/pod-4/volumes/kubernetes.io~csi/pv-4/mount');
    mkdirSync(path.dirname(target), { recursive: true });
    symlinkSync(other, target);
    const r = await codeOf(env.client.nodeCall('NodePublishVolume', { ...base, targetPath: target }));
    expect(r.code).toBe(status.FAILED_PRECONDITION);
    expect(r.details).toMatch(/symbolic link/);
    expect(isMountPoint(other)).toBe(true);
    expect(readFileSync(path.join(other, 'precious.txt'), 'utf8')).toBe('not a volume');
    expect(lstatSync(target).isSymbolicLink()).toBe(true);
  });

  test('NodeStageVolume outside the kubelet dir: refused before the volume is attached or anything mounted', async () => {
    const id = 'vol-confine-5';
    env.createVolume(id);
    const staging = path.join(outside, 'stage-5');
    const r = await codeOf(
      env.client.nodeCall('NodeStageVolume', {
        volumeId: id,
        stagingTargetPath: staging,
        volumeCapability: MOUNT_CAP('ext4'),
        volumeContext: env.volumeContext(id),
      }),
    );
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(existsSync(staging)).toBe(false);
    expect(await env.app.connector.find(`${env.cfg.nqnPrefix}:${id}`)).toBeUndefined();
  });

  test('stats and expand at the volume mounted outside the kubelet dir: NOT_FOUND; a full lifecycle inside works through the linked kubelet dir', async () => {
    const id = 'vol-confine-6';
    const { staging, base } = await staged(id);
    const away = path.join(outside, 'bind-6');
    mkdirSync(away);
    execFileSync('mount', ['--bind', staging, away]); // the volume itself, but at a place kubelet never names
    try {
      expect((await codeOf(env.client.nodeCall('NodeGetVolumeStats', { volumeId: id, volumePath: away }))).code).toBe(status.NOT_FOUND);
      expect((await codeOf(env.client.nodeCall('NodeExpandVolume', { volumeId: id, volumePath: away }))).code).toBe(status.NOT_FOUND);
    } finally {
      execFileSync('umount', [away]);
    }
    const target = path.join(root, 'kubelet-link/pods/pod-6/volumes/kubernetes.io~csi/pv-6/mount'); // through the kubelet dir's link
    await env.client.nodeCall('NodePublishVolume', { ...base, targetPath: target });
    expect(isMountPoint(path.join(kubelet, 'pods/pod-6/volumes/kubernetes.io~csi/pv-6/mount'))).toBe(true);
    const stats = await env.client.nodeCall('NodeGetVolumeStats', { volumeId: id, volumePath: target });
    expect(stats.volumeCondition.abnormal).toBe(false);
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
    expect(existsSync(path.join(kubelet, 'pods/pod-6/volumes/kubernetes.io~csi/pv-6/mount'))).toBe(false);
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
    expect(isMountPoint(staging)).toBe(false);
  });
});
