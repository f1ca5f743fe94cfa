import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, openSync, readSync, closeSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { splitDev } from '../../src/host/fs';
import { codeOf } from '../support/csi-client';
import { BLOCK_CAP, describeRoot, isMountPoint, MiB, type NodeEnv, startNodeEnv } from './support';

/**
 * Block volumes: stage connects only, publish makes a device node with mknod (never a bind mount of /dev),
 * re-publish checks and fixes the rdev, unpublish removes the node; stats report the device size.
 */

describeRoot('node plugin, block volumes (loop connector)', () => {
  let env: NodeEnv;
  beforeAll(async () => {
    env = await startNodeEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  const rdevOf = (p: string): string => {
    const { major, minor } = splitDev(lstatSync(p, { bigint: true }).rdev);
    return `${major}:${minor}`;
  };

  test('stage, publish (mknod), I/O through the node, stats, expand, unpublish, unstage — twice and across a restart', async () => {
    const id = 'vol-block-a';
    const file = env.createVolume(id, 32 * MiB);
    const staging = path.join(env.dir, 'staging-block');
    mkdirSync(staging, { recursive: true });
    const target = path.join(env.dir, 'pods', 'blk', 'dev');
    const stageReq = { volumeId: id, stagingTargetPath: staging, volumeCapability: BLOCK_CAP(), volumeContext: env.volumeContext(id, 'block') };
    const pubReq = { ...stageReq, targetPath: target };

    await env.client.nodeCall('NodeStageVolume', stageReq);
    await env.client.nodeCall('NodeStageVolume', stageReq);
    expect(isMountPoint(staging)).toBe(false); // stage connects only
    const dev = await env.app.connector.find(`${env.cfg.nqnPrefix}:${id}`);
    expect(dev).toBeDefined();
    await env.restart();
    await env.client.nodeCall('NodeStageVolume', stageReq);

    await env.client.nodeCall('NodePublishVolume', pubReq);
    const st = lstatSync(target);
    expect(st.isBlockDevice()).toBe(true);
    expect(isMountPoint(target)).toBe(false); // a device node, not a bind mount
    expect(rdevOf(target)).toBe(`${dev?.major}:${dev?.minor}`);
    await env.client.nodeCall('NodePublishVolume', pubReq);
    await env.restart();
    await env.client.nodeCall('NodePublishVolume', pubReq);

    // Write through the published node, read the bytes back from the backing file.
    const fd = openSync(target, 'r+');
    writeFileSync(fd, Buffer.from('block data'));
    closeSync(fd);
    const back = Buffer.alloc(10);
    const rfd = openSync(file, 'r');
    readSync(rfd, back, 0, 10, 0);
    closeSync(rfd);
    expect(back.toString()).toBe('block data');

    const stats = await env.client.nodeCall('NodeGetVolumeStats', { volumeId: id, volumePath: target });
    expect(stats.usage).toEqual([expect.objectContaining({ unit: 'BYTES', total: String(32 * MiB) })]);
    expect(stats.volumeCondition.abnormal).toBe(false);

    truncateSync(file, 48 * MiB);
    const ex = await env.client.nodeCall('NodeExpandVolume', {
      volumeId: id,
      volumePath: target,
      capacityRange: { requiredBytes: String(48 * MiB) },
      volumeCapability: BLOCK_CAP(),
    });
    expect(ex.capacityBytes).toBe(String(48 * MiB));

    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
    expect(existsSync(target)).toBe(false);
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
    expect(await env.app.connector.find(`${env.cfg.nqnPrefix}:${id}`)).toBeUndefined();
    await env.restart();
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
  });

  test('re-publish replaces a node whose rdev is not the current device; read-only gets mode 0440', async () => {
    const id = 'vol-block-b';
    env.createVolume(id, 16 * MiB);
    const staging = path.join(env.dir, 'staging-block-b');
    const target = path.join(env.dir, 'pods', 'blk-b', 'dev');
    const req = {
      volumeId: id,
      stagingTargetPath: staging,
      targetPath: target,
      volumeCapability: BLOCK_CAP(),
      volumeContext: env.volumeContext(id, 'block'),
    };
    await env.client.nodeCall('NodeStageVolume', req);
    mkdirSync(path.dirname(target), { recursive: true });
    // A stale node: numbers of a device that no longer exists (what a reconnect that renumbered the device leaves).
    execFileSync('mknod', ['-m', '0660', target, 'b', '259', '1048575']);
    const stats = await env.client.nodeCall('NodeGetVolumeStats', { volumeId: id, volumePath: target });
    expect(stats.volumeCondition.abnormal).toBe(true);
    await env.client.nodeCall('NodePublishVolume', req);
    const dev = await env.app.connector.find(`${env.cfg.nqnPrefix}:${id}`);
    expect(rdevOf(target)).toBe(`${dev?.major}:${dev?.minor}`);
    await env.client.nodeCall('NodePublishVolume', { ...req, readonly: true });
    expect(lstatSync(target).mode & 0o777).toBe(0o440);
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
  });

  test("volume B named at volume A's block target: unpublish and publish refuse, stats NOT_FOUND, A's node stays", async () => {
    const [a, b] = ['vol-block-own-a', 'vol-block-own-b'];
    env.createVolume(a, 16 * MiB);
    env.createVolume(b, 16 * MiB);
    const reqOf = (id: string, target: string): object => ({
      volumeId: id,
      stagingTargetPath: path.join(env.dir, `s-${id}`),
      targetPath: target,
      volumeCapability: BLOCK_CAP(),
      volumeContext: env.volumeContext(id, 'block'),
    });
    const tA = path.join(env.dir, 'pods', 'own-a', 'dev');
    await env.client.nodeCall('NodeStageVolume', reqOf(a, tA));
    await env.client.nodeCall('NodeStageVolume', reqOf(b, tA));
    await env.client.nodeCall('NodePublishVolume', reqOf(a, tA));
    const devA = await env.app.connector.find(`${env.cfg.nqnPrefix}:${a}`);
    const un = await codeOf(env.client.nodeCall('NodeUnpublishVolume', { volumeId: b, targetPath: tA }));
    expect(un.code).toBe(9);
    expect(un.details).toMatch(/refuses to remove it/);
    expect((await codeOf(env.client.nodeCall('NodePublishVolume', reqOf(b, tA)))).code).toBe(9);
    expect((await codeOf(env.client.nodeCall('NodeGetVolumeStats', { volumeId: b, volumePath: tA }))).code).toBe(5);
    expect((await codeOf(env.client.nodeCall('NodeExpandVolume', { volumeId: b, volumePath: tA, volumeCapability: BLOCK_CAP() }))).code).toBe(5);
    expect(rdevOf(tA)).toBe(`${devA?.major}:${devA?.minor}`);
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: a, targetPath: tA });
    expect(existsSync(tA)).toBe(false);
    for (const id of [a, b]) await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: path.join(env.dir, `s-${id}`) });
  });

  test('publish of a block volume that is not staged is FAILED_PRECONDITION', async () => {
    const id = 'vol-block-c';
    env.createVolume(id, 16 * MiB);
    const r = await codeOf(
      env.client.nodeCall('NodePublishVolume', {
        volumeId: id,
        stagingTargetPath: path.join(env.dir, 's-c'),
        targetPath: path.join(env.dir, 'pods', 'c', 'dev'),
        volumeCapability: BLOCK_CAP(),
        volumeContext: env.volumeContext(id, 'block'),
      }),
    );
    expect(r.code).toBe(9);
  });
});
