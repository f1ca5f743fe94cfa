import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseMountInfo } from '../../src/host/mountinfo';
import { hostPort } from '../../src/host/port';
import { runTool, type ToolRunner } from '../../src/host/run';
import { codeOf } from '../support/csi-client';
import { waitFor } from '../support/wait';
import { describeRoot, isMountPoint, MiB, MOUNT_CAP, type NodeEnv, startNodeEnv } from './support';

/**
 * The lessons of docs/ARCHITECTURE.md#lessons on real mounts: stale staging mounts of the volume are recovered while
 * mounts that are not the named volume's (a tmpfs, another volume, a foreign device) are never unmounted (issue 11
 * item 1), stats and expand answer NOT_FOUND where the named volume is not (item 2), unpublish through stacked bind
 * mounts never deletes data, unstage never disconnects a device that is still mounted, and a busy volume answers
 * ABORTED.
 */

const calls: string[] = [];
let slowMkfsMs = 0;
/** Runs right after a real `umount` of its path: another user of the host acting between two steps of the driver. */
let afterUmount: ((target: string) => void) | undefined;
const recording: ToolRunner = async (cmd, args, opts) => {
  calls.push(cmd);
  if (cmd.startsWith('mkfs') && slowMkfsMs) await new Promise((r) => setTimeout(r, slowMkfsMs));
  const r = await runTool(cmd, args, opts);
  if (cmd === 'umount') afterUmount?.(args[0]);
  return r;
};

describeRoot('node plugin safety on real mounts', () => {
  let env: NodeEnv;
  beforeAll(async () => {
    env = await startNodeEnv({}, hostPort({ run: recording }));
  });
  afterAll(async () => {
    await env?.stop();
  });

  const stageReq = (id: string, staging: string, fsType = 'ext4'): object => ({
    volumeId: id,
    stagingTargetPath: staging,
    volumeCapability: MOUNT_CAP(fsType),
    volumeContext: env.volumeContext(id),
  });

  /** A foreign ext4 device (loop of a file under the env dir) to leave stale mounts with. */
  function foreignDevice(name: string): string {
    const f = path.join(env.dir, `${name}.img`);
    execFileSync('truncate', ['-s', `${32 * MiB}`, f]);
    execFileSync('mkfs.ext4', ['-q', f]);
    return execFileSync('losetup', ['--find', '--show', f], { encoding: 'utf8' }).trim();
  }

  const nqnOf = (id: string): string => `${env.cfg.nqnPrefix}:${id}`;

  /**
   * The loop connector's picture of "a reconnect renamed the device": the volume's own backing file attached a second
   * time, so one of the two loop devices is not the one the NQN resolves to. Returns that one (the stale device).
   */
  async function staleDeviceOf(id: string): Promise<string> {
    const before = (await env.app.connector.find(nqnOf(id)))?.path ?? '';
    const second = execFileSync('losetup', ['--find', '--show', env.fileOf(id)], { encoding: 'utf8' }).trim();
    const now = (await env.app.connector.find(nqnOf(id)))?.path;
    return now === second ? before : second;
  }

  const topSource = (p: string): string | undefined =>
    parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'))
      .filter((e) => e.mountPoint === p)
      .pop()?.source;

  test('stage recovers a stale staging mount of the volume (another device of its own file) without formatting', async () => {
    const id = 'vol-stale-a';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-stale');
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    writeFileSync(path.join(staging, 'keep.txt'), 'mine');
    execFileSync('umount', [staging]);
    const stale = await staleDeviceOf(id);
    execFileSync('mount', [stale, staging]); // what a reconnect under a new name leaves
    calls.length = 0;
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    expect(calls.filter((c) => c.startsWith('mkfs'))).toEqual([]);
    expect(topSource(staging)).toBe((await env.app.connector.find(nqnOf(id)))?.path);
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
    execFileSync('mount', [await staleDeviceOf(id), staging]);
    const st = await env.client.nodeCall('NodeGetVolumeStats', { volumeId: id, volumePath: staging });
    expect(st.volumeCondition.abnormal).toBe(true);
    expect(st.volumeCondition.message).toMatch(/stale/);
    await env.client.nodeCall('NodePublishVolume', { ...stageReq(id, staging), targetPath: target });
    expect(readFileSync(path.join(target, 'keep.txt'), 'utf8')).toBe('b');
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
  });

  test('unstage checks again after unmounting: a mount of the device made meanwhile keeps it connected', async () => {
    const id = 'vol-mounted-meanwhile';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-meanwhile');
    const stray = path.join(env.dir, 'stray-meanwhile');
    mkdirSync(stray, { recursive: true });
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    writeFileSync(path.join(staging, 'keep.txt'), 'in use');
    const dev = (await env.app.connector.find(nqnOf(id)))?.path ?? '';
    expect(dev).not.toBe('');
    // Someone mounts the device after the unstage's first check passed, while the staging path is being unmounted.
    afterUmount = (target) => {
      if (target === staging) execFileSync('mount', [dev, stray]);
    };
    calls.length = 0;
    try {
      const r = await codeOf(env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging }));
      expect(r.code).toBe(9);
      expect(r.details).toContain(`still mounted at ${stray}`);
    } finally {
      afterUmount = undefined;
    }
    expect(calls).toContain('umount');
    expect(calls).not.toContain('losetup'); // never detached
    expect((await env.app.connector.find(nqnOf(id)))?.path).toBe(dev);
    expect(readFileSync(path.join(stray, 'keep.txt'), 'utf8')).toBe('in use');
    execFileSync('umount', [stray]);
    // Once the other mount is gone, the retried unstage finishes: the device is disconnected.
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
    expect(await env.app.connector.find(nqnOf(id))).toBeUndefined();
  });

  test('stage refuses a staging path that shows a device of no volume; the foreign mount stays', async () => {
    const id = 'vol-foreign-st';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-foreign');
    mkdirSync(staging, { recursive: true });
    const foreign = foreignDevice('foreign-a');
    execFileSync('mount', [foreign, staging]);
    writeFileSync(path.join(staging, 'theirs.txt'), "not the driver's");
    calls.length = 0;
    const r = await codeOf(env.client.nodeCall('NodeStageVolume', stageReq(id, staging)));
    expect(r.code).toBe(9);
    expect(r.details).toMatch(new RegExp(`has ${foreign} \\(ext4\\) mounted, which is not volume ${id}'s.*refuses to unmount`));
    expect(topSource(staging)).toBe(foreign);
    expect(readFileSync(path.join(staging, 'theirs.txt'), 'utf8')).toBe("not the driver's");
    expect(calls.filter((c) => c === 'umount' || c.startsWith('mkfs'))).toEqual([]);
    execFileSync('umount', [staging]);
  });

  test('an unknown volume named at a tmpfs the driver never made: unpublish and unstage refuse, the tmpfs stays', async () => {
    const p = path.join(env.dir, 'someone-elses-tmpfs');
    mkdirSync(p, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', p]);
    writeFileSync(path.join(p, 'theirs.txt'), 'x');
    try {
      const un = await codeOf(env.client.nodeCall('NodeUnpublishVolume', { volumeId: 'vol-never-seen', targetPath: p }));
      expect(un.code).toBe(9);
      expect(un.details).toMatch(/has tmpfs \(tmpfs\) mounted, which is not volume vol-never-seen's.*refuses to unmount/);
      expect(isMountPoint(p)).toBe(true);
      const us = await codeOf(env.client.nodeCall('NodeUnstageVolume', { volumeId: 'vol-never-seen', stagingTargetPath: p }));
      expect(us.code).toBe(9);
      expect(isMountPoint(p)).toBe(true);
      expect(readFileSync(path.join(p, 'theirs.txt'), 'utf8')).toBe('x');
      expect((await codeOf(env.client.nodeCall('NodeGetVolumeStats', { volumeId: 'vol-never-seen', volumePath: p }))).code).toBe(5);
    } finally {
      execFileSync('umount', [p]);
    }
  });

  test("volume B named at volume A's paths: every RPC refuses or answers NOT_FOUND, A stays mounted", async () => {
    const [a, b] = ['vol-owner-a', 'vol-owner-b'];
    env.createVolume(a);
    env.createVolume(b);
    const stA = path.join(env.dir, 'staging-owner-a');
    const stB = path.join(env.dir, 'staging-owner-b');
    const tA = path.join(env.dir, 'pods', 'owner-a');
    await env.client.nodeCall('NodeStageVolume', stageReq(a, stA));
    await env.client.nodeCall('NodePublishVolume', { ...stageReq(a, stA), targetPath: tA });
    await env.client.nodeCall('NodeStageVolume', stageReq(b, stB)); // B is connected too: its device exists
    writeFileSync(path.join(tA, 'a.txt'), 'A');
    const devA = (await env.app.connector.find(nqnOf(a)))?.path ?? '';

    const unpub = await codeOf(env.client.nodeCall('NodeUnpublishVolume', { volumeId: b, targetPath: tA }));
    expect(unpub.code).toBe(9);
    expect(unpub.details).toMatch(new RegExp(`which is not volume ${b}'s: device .* belongs to ${nqnOf(a)}`));
    const unst = await codeOf(env.client.nodeCall('NodeUnstageVolume', { volumeId: b, stagingTargetPath: stA }));
    expect(unst.code).toBe(9);
    const pub = await codeOf(env.client.nodeCall('NodePublishVolume', { ...stageReq(b, stB), targetPath: tA }));
    expect(pub.code).toBe(9);
    const stage = await codeOf(env.client.nodeCall('NodeStageVolume', stageReq(b, stA)));
    expect(stage.code).toBe(9);
    const stats = await codeOf(env.client.nodeCall('NodeGetVolumeStats', { volumeId: b, volumePath: tA }));
    expect(stats.code).toBe(5);
    expect(stats.details).toMatch(new RegExp(`volume ${b} is not at ${tA}`));
    expect((await codeOf(env.client.nodeCall('NodeGetVolumeStats', { volumeId: b, volumePath: stA }))).code).toBe(5);
    expect((await codeOf(env.client.nodeCall('NodeExpandVolume', { volumeId: b, volumePath: tA, stagingTargetPath: stA }))).code).toBe(5);

    expect(topSource(tA)).toBe(devA);
    expect(topSource(stA)).toBe(devA);
    expect(readFileSync(path.join(tA, 'a.txt'), 'utf8')).toBe('A');
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: a, targetPath: tA });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: a, stagingTargetPath: stA });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: b, stagingTargetPath: stB });
    expect(isMountPoint(stA)).toBe(false);
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

    // A target directory with files of its own (not on the volume) is left alone, not deleted recursively; the
    // volume is not published there, so the answer is OK (it was FAILED_PRECONDITION, which the fuzzer flagged).
    mkdirSync(target, { recursive: true });
    writeFileSync(path.join(target, 'underneath.txt'), 'x');
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
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

  // Fuzz seed 1: unstage naming a path the volume is not staged at, while it is staged and published elsewhere, was
  // FAILED_PRECONDITION; the spec says "not staged to the staging_target_path → 0 OK". Nothing may change.
  test('unstage at a path the volume is not staged at: OK, and its real staging, publish and device stay', async () => {
    const id = 'vol-unstage-elsewhere';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-elsewhere');
    const target = path.join(env.dir, 'pods', 'elsewhere');
    const other = path.join(env.dir, 'not-the-staging');
    mkdirSync(other);
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    await env.client.nodeCall('NodePublishVolume', { ...stageReq(id, staging), targetPath: target });
    writeFileSync(path.join(target, 'live.txt'), 'in use');
    for (const p of [other, path.join(env.dir, 'never-made', 't')]) {
      await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: p });
    }
    expect(isMountPoint(staging)).toBe(true);
    expect(isMountPoint(target)).toBe(true);
    expect(existsSync(other)).toBe(true);
    expect(await env.app.connector.find(`${env.cfg.nqnPrefix}:${id}`)).toBeDefined();
    expect(readFileSync(path.join(target, 'live.txt'), 'utf8')).toBe('in use');
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
    expect(await env.app.connector.find(`${env.cfg.nqnPrefix}:${id}`)).toBeUndefined();
  });

  // Fuzz (default run, seed 149325440): NodeUnpublishVolume naming a non-empty directory the volume was never mounted
  // at answered FAILED_PRECONDITION. The volume is not published there, so the call is done: OK, and the directory
  // and its files stay. The same after a real unpublish from a target that had files under the mount.
  test('unpublish at a non-empty directory: OK, nothing in it deleted (never published there, and published over files)', async () => {
    const id = 'vol-unpub-nonempty';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-unpub-nonempty');
    const never = path.join(env.dir, 'pods', 'never-published');
    const over = path.join(env.dir, 'pods', 'published-over-files');
    for (const dir of [never, over]) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'not-the-volume.txt'), 'kept');
    }
    await env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
    await env.client.nodeCall('NodePublishVolume', { ...stageReq(id, staging), targetPath: over });
    expect(existsSync(path.join(over, 'not-the-volume.txt'))).toBe(false); // hidden under the bind
    for (const target of [never, over]) {
      await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
      await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target }); // idempotent
      expect(isMountPoint(target)).toBe(false);
      expect(readFileSync(path.join(target, 'not-the-volume.txt'), 'utf8')).toBe('kept');
    }
    expect(isMountPoint(staging)).toBe(true);
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
  });

  test('a second call on a busy volume waits briefly, then ABORTED; the first completes', async () => {
    const id = 'vol-busy';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-busy');
    slowMkfsMs = 1500;
    calls.length = 0;
    try {
      const first = env.client.nodeCall('NodeStageVolume', stageReq(id, staging));
      // The first call is inside its (slowed) mkfs, holding the volume, when the second arrives.
      await waitFor(() => calls.some((c) => c.startsWith('mkfs')), 10_000, 'the first stage to reach mkfs');
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
