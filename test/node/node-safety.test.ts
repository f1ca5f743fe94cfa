import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hostPort } from '../../src/host/port';
import { runTool, type ToolRunner } from '../../src/host/run';
import { codeOf } from '../support/csi-client';
import { describeRoot, isMountPoint, MiB, MOUNT_CAP, type NodeEnv, startNodeEnv } from './support';

/**
 * The lessons of DESIGN §10 on real mounts: stale staging mounts are recovered, unpublish through stacked bind
 * mounts never deletes data, unstage never disconnects a device that is still mounted, and a busy volume answers
 * ABORTED.
 */

const calls: string[] = [];
let slowMkfsMs = 0;
const recording: ToolRunner = async (cmd, args, opts) => {
  calls.push(cmd);
  if (cmd.startsWith('mkfs') && slowMkfsMs) await new Promise((r) => setTimeout(r, slowMkfsMs));
  return runTool(cmd, args, opts);
};

describeRoot('node plugin safety on real mounts', () => {
  let env: NodeEnv;
  beforeAll(async () => {
    env = await startNodeEnv({}, hostPort({ run: recording }));
  });
  afterAll(async () => {
    await env?.stop();
  });

  const stageReq = (id: string, staging: string, fsType = 'ext4'): object => ({ volumeId: id, stagingTargetPath: staging, volumeCapability: MOUNT_CAP(fsType), volumeContext: env.volumeContext(id) });

  /** A foreign ext4 device (loop of a file under the env dir) to leave stale mounts with. */
  function foreignDevice(name: string): string {
    const f = path.join(env.dir, `${name}.img`);
    execFileSync('truncate', ['-s', `${32 * MiB}`, f]);
    execFileSync('mkfs.ext4', ['-q', f]);
    return execFileSync('losetup', ['--find', '--show', f], { encoding: 'utf8' }).trim();
  }

  test('stage recovers a stale staging mount (source is not the NQN device) without formatting', async () => {
    const id = 'vol-stale-a';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-stale');
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    writeFileSync(path.join(staging, 'keep.txt'), 'mine');
    execFileSync('umount', [staging]);
    execFileSync('mount', [foreignDevice('foreign-a'), staging]); // what a reconnect under a new name leaves
    calls.length = 0;
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    expect(calls.filter((c) => c.startsWith('mkfs'))).toEqual([]);
    expect(readFileSync(path.join(staging, 'keep.txt'), 'utf8')).toBe('mine');
    const stats = await env.client.nodeCall('NodeGetVolumeStats', { volumeId: id, volumePath: staging });
    expect(stats.volumeCondition.abnormal).toBe(false);
  });

  test('publish recovers a stale staging mount; stats flag a stale mount as abnormal', async () => {
    const id = 'vol-stale-b';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-stale-b');
    const target = path.join(env.dir, 'pods', 'stale-b');
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    writeFileSync(path.join(staging, 'keep.txt'), 'b');
    execFileSync('umount', [staging]);
    execFileSync('mount', [foreignDevice('foreign-b'), staging]);
    const st = await env.client.nodeCall('NodeGetVolumeStats', { volumeId: id, volumePath: staging });
    expect(st.volumeCondition.abnormal).toBe(true);
    expect(st.volumeCondition.message).toMatch(/stale/);
    await env.client.nodeCall('NodePublishVolume', { ...stageReq(id, staging), targetPath: target });
    expect(readFileSync(path.join(target, 'keep.txt'), 'utf8')).toBe('b');
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
  });

  test('unpublish through stacked bind mounts removes every mount and never deletes data', async () => {
    const id = 'vol-stack';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-stack');
    const target = path.join(env.dir, 'pods', 'stack');
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    await env.client.nodeCall('NodePublishVolume', { ...stageReq(id, staging), targetPath: target });
    writeFileSync(path.join(target, 'precious.txt'), 'do not delete');
    execFileSync('mount', ['--bind', staging, target]); // stacked twice more, as a confused kubelet retry could
    execFileSync('mount', ['--bind', staging, target]);
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
    expect(isMountPoint(target)).toBe(false);
    expect(existsSync(target)).toBe(false);
    expect(readFileSync(path.join(staging, 'precious.txt'), 'utf8')).toBe('do not delete');

    // A target directory with files of its own (not on the volume) is left alone, not deleted recursively.
    mkdirSync(target, { recursive: true });
    writeFileSync(path.join(target, 'underneath.txt'), 'x');
    const r = await codeOf(env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target }));
    expect(r.code).toBe(9);
    expect(readFileSync(path.join(target, 'underneath.txt'), 'utf8')).toBe('x');
  });

  test('unstage never disconnects a device that is still mounted elsewhere', async () => {
    const id = 'vol-inuse';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-inuse');
    const target = path.join(env.dir, 'pods', 'inuse');
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    await env.client.nodeCall('NodePublishVolume', { ...stageReq(id, staging), targetPath: target });
    writeFileSync(path.join(target, 'live.txt'), 'in use');
    const r = await codeOf(env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging }));
    expect(r.code).toBe(9);
    expect(r.details).toMatch(/still mounted/);
    expect(isMountPoint(staging)).toBe(true); // refused before anything was touched
    expect(await env.app.connector.find(`${env.cfg.nqnPrefix}:${id}`)).toBeDefined();
    expect(readFileSync(path.join(target, 'live.txt'), 'utf8')).toBe('in use');
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
    expect(await env.app.connector.find(`${env.cfg.nqnPrefix}:${id}`)).toBeUndefined();
  });

  test('a second call on a busy volume waits briefly, then ABORTED; the first completes', async () => {
    const id = 'vol-busy';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-busy');
    slowMkfsMs = 1500;
    try {
      const first = env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
      await new Promise((r) => setTimeout(r, 200));
      const second = await codeOf(env.client.nodeCall('NodeStageVolume', stageReq(id, staging)));
      expect(second.code).toBe(10);
      await first;
    } finally {
      slowMkfsMs = 0;
    }
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    expect(isMountPoint(staging)).toBe(true);
  });
});
