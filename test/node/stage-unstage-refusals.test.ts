import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { hostPort } from '../../src/host/port';
import { Sysfs } from '../../src/host/sysfs';
import { codeOf } from '../support/csi-client';
import { describeRoot, isMountPoint, MOUNT_CAP, type NodeEnv, startNodeEnv } from './support';

/**
 * NodeUnstageVolume's refusals with their exact messages (mutation tier, issue 19 item 2): a device mounted at two
 * other places names both, and a device held by device-mapper (a dm-crypt or LVM layer on top of it) is never
 * disconnected. Everything is real (loop devices, ext4, mounts) except the holders: this machine's kernel has no
 * device-mapper (`dmsetup create` fails), so the host's sysfs reports a holder for a device the test names, and
 * the real sysfs for every other device. The real holder path runs in the VM tier's LUKS scenario.
 */
class HeldSysfs extends Sysfs {
  readonly held = new Map<string, string[]>();
  override async blockHolders(major: number, minor: number): Promise<string[]> {
    return this.held.get(`${major}:${minor}`) ?? super.blockHolders(major, minor);
  }
}

describeRoot('NodeStageVolume / NodeUnstageVolume refusals (real mounts)', () => {
  let env: NodeEnv;
  const sysfs = new HeldSysfs('/sys');
  beforeAll(async () => {
    env = await startNodeEnv({}, { ...hostPort(), sysfs });
  });
  afterAll(async () => {
    await env?.stop();
  });

  const nqnOf = (id: string): string => `${env.cfg.nqnPrefix}:${id}`;
  const stageReq = (id: string, staging: string): object => ({
    volumeId: id,
    stagingTargetPath: staging,
    volumeCapability: MOUNT_CAP(),
    volumeContext: env.volumeContext(id),
  });
  const unstage = (id: string, staging: string) => codeOf(env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging }));

  test('a device published at two targets: the refusal names both, in mount order; nothing is touched', async () => {
    const id = 'vol-two-users';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-two');
    const targets = [path.join(env.dir, 'pods', 'two-a'), path.join(env.dir, 'pods', 'two-b')];
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    for (const t of targets) await env.client.nodeCall('NodePublishVolume', { ...stageReq(id, staging), targetPath: t });
    const dev = (await env.app.connector.find(nqnOf(id)))!;
    expect(await unstage(id, staging)).toEqual({
      code: 9,
      details: `device ${dev.path} of volume ${id} is still mounted at ${targets.join(', ')}; not unstaging`,
    });
    expect([isMountPoint(staging), ...targets.map(isMountPoint)]).toEqual([true, true, true]);
    for (const t of targets) await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: t });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
    expect(await env.app.connector.find(nqnOf(id))).toBeUndefined();
  });

  test('a device held by device-mapper stays connected and mounted; once released, unstage finishes', async () => {
    const id = 'vol-held';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-held');
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    writeFileSync(path.join(staging, 'data.txt'), 'kept');
    const dev = (await env.app.connector.find(nqnOf(id)))!;
    sysfs.held.set(`${dev.major}:${dev.minor}`, ['dm-7', 'dm-9']);
    const refused = { code: 9, details: `device ${dev.path} of volume ${id} is held by dm-7, dm-9; not unstaging` };
    expect(await unstage(id, staging)).toEqual(refused);
    expect(isMountPoint(staging)).toBe(true); // refused before the unmount
    // Not staged at the path named, the device held: OK (nothing staged there), and the device stays.
    expect(await unstage(id, path.join(env.dir, 'never-staged-here'))).toEqual({});
    expect(await env.app.connector.find(nqnOf(id))).toEqual(dev);
    sysfs.held.delete(`${dev.major}:${dev.minor}`);
    expect(await unstage(id, staging)).toEqual({});
    expect(isMountPoint(staging)).toBe(false);
    expect(await env.app.connector.find(nqnOf(id))).toBeUndefined();
  });
  test('stage again at a path staged with another file system type: ALREADY_EXISTS naming both; the mount stays', async () => {
    const id = 'vol-fstype';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-fstype');
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    writeFileSync(path.join(staging, 'data.txt'), 'kept');
    const again = { ...(stageReq(id, staging) as Record<string, unknown>), volumeCapability: MOUNT_CAP('xfs') };
    expect(await codeOf(env.client.nodeCall('NodeStageVolume', again))).toEqual({
      code: 6,
      details: `${staging} is staged with ext4, not xfs`,
    });
    expect(isMountPoint(staging)).toBe(true);
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
  });
});
