import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { codeOf } from '../support/csi-client';
import { blkidType, describeRoot, HAS_SYS_RESOURCE, isMountPoint, MiB, MOUNT_CAP, type NodeEnv, startNodeEnv } from './support';

/**
 * Every Node RPC's happy path for ext4 and xfs over the real gRPC service, loop devices, mkfs and mounts; each
 * RPC called twice and again after a simulated plugin restart, with the outcome read back from the kernel.
 */

/**
 * What the expand step checks depends on this machine: online ext4 resize needs CAP_SYS_RESOURCE, so without it the
 * step checks the refusal instead, and the test's name says so (the VM tier's controller-nvmet scenario, in the CI
 * subset, grows a mounted ext4 for real).
 */
const EXT4_EXPAND = HAS_SYS_RESOURCE ? 'expand online' : 'expand refused for lack of CAP_SYS_RESOURCE (online ext4 resize: VM tier controller-nvmet)';
const CASES: Array<[string, string, number]> = [
  ['ext4', EXT4_EXPAND, 64 * MiB],
  ['xfs', 'expand online', 320 * MiB], // mkfs.xfs refuses devices under 300 MiB
];

describeRoot('node plugin, filesystem volumes (loop connector)', () => {
  let env: NodeEnv;
  beforeAll(async () => {
    env = await startNodeEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  test('NodeGetCapabilities and NodeGetInfo', async () => {
    const caps = await env.client.nodeCall('NodeGetCapabilities');
    expect(caps.capabilities.map((c: { rpc: { type: string } }) => c.rpc.type).sort()).toEqual([
      'EXPAND_VOLUME',
      'GET_VOLUME_STATS',
      'SINGLE_NODE_MULTI_WRITER',
      'STAGE_UNSTAGE_VOLUME',
      'VOLUME_CONDITION',
    ]);
    const info = await env.client.nodeCall('NodeGetInfo');
    expect(info.nodeId).toBe('node-a');
    const probe = await env.client.id('Probe');
    expect(probe.ready.value).toBe(true);
  });

  test.each(CASES)('%s: stage, publish, write, stats, %s, unpublish, unstage — each twice and across a restart', async (fsType, _expand, size) => {
    const id = `vol-fs-${fsType}`;
    const file = env.createVolume(id, size);
    const staging = path.join(env.dir, `staging-${fsType}`);
    const target = path.join(env.dir, 'pods', `pod-${fsType}`, 'mount');
    const cap = MOUNT_CAP(fsType);
    const stageReq = { volumeId: id, stagingTargetPath: staging, volumeCapability: cap, volumeContext: env.volumeContext(id) };
    const pubReq = { ...stageReq, targetPath: target };

    await env.client.nodeCall('NodeStageVolume', stageReq);
    expect(isMountPoint(staging)).toBe(true);
    const dev = await env.app.connector.find(`${env.cfg.nqnPrefix}:${id}`);
    expect(dev).toBeDefined();
    expect(blkidType(dev?.path ?? '')).toBe(fsType);
    await env.client.nodeCall('NodeStageVolume', stageReq); // idempotent
    await env.restart();
    await env.client.nodeCall('NodeStageVolume', stageReq); // after restart: found from mountinfo and sysfs

    await env.client.nodeCall('NodePublishVolume', pubReq);
    await env.client.nodeCall('NodePublishVolume', pubReq);
    expect(isMountPoint(target)).toBe(true);
    writeFileSync(path.join(target, 'hello.txt'), 'data that must survive');
    expect(readFileSync(path.join(staging, 'hello.txt'), 'utf8')).toBe('data that must survive');
    await env.restart();
    await env.client.nodeCall('NodePublishVolume', pubReq);

    const stats = await env.client.nodeCall('NodeGetVolumeStats', { volumeId: id, volumePath: target });
    const bytes = stats.usage.find((u: { unit: string }) => u.unit === 'BYTES');
    const inodes = stats.usage.find((u: { unit: string }) => u.unit === 'INODES');
    expect(Number(bytes.total)).toBeGreaterThan(size / 2);
    expect(Number(bytes.used)).toBeGreaterThan(0);
    expect(Number(inodes.total)).toBeGreaterThan(0);
    expect(stats.volumeCondition).toEqual({ abnormal: false, message: 'volume is healthy' });

    // The controller grew the backing file; the node rescans and grows the file system online.
    truncateSync(file, size + 64 * MiB);
    const expandReq = { volumeId: id, volumePath: target, stagingTargetPath: staging, capacityRange: { requiredBytes: String(size + 64 * MiB) } };
    if (fsType === 'ext4' && !HAS_SYS_RESOURCE) {
      // This sandbox lacks CAP_SYS_RESOURCE, which the kernel requires for online ext4 resize: the error says so.
      console.warn('ext4 online resize not exercised: the test process lacks CAP_SYS_RESOURCE');
      const r = await codeOf(env.client.nodeCall('NodeExpandVolume', expandReq));
      expect(r.code).toBe(9); // FAILED_PRECONDITION: this node cannot grow a mounted ext4 (fuzz seed 1 saw INTERNAL)
      expect(r.details).toMatch(/CAP_SYS_RESOURCE/);
    } else {
      const ex = await env.client.nodeCall('NodeExpandVolume', expandReq);
      expect(Number(ex.capacityBytes)).toBe(size + 64 * MiB);
      const after = await env.client.nodeCall('NodeGetVolumeStats', { volumeId: id, volumePath: target });
      expect(Number(after.usage[0].total)).toBeGreaterThan(Number(bytes.total));
      await env.client.nodeCall('NodeExpandVolume', expandReq); // again: nothing to do, same answer
    }

    const unpubReq = { volumeId: id, targetPath: target };
    await env.client.nodeCall('NodeUnpublishVolume', unpubReq);
    expect(existsSync(target)).toBe(false);
    await env.client.nodeCall('NodeUnpublishVolume', unpubReq);
    await env.restart();
    await env.client.nodeCall('NodeUnpublishVolume', unpubReq);

    const unstageReq = { volumeId: id, stagingTargetPath: staging };
    await env.client.nodeCall('NodeUnstageVolume', unstageReq);
    expect(isMountPoint(staging)).toBe(false);
    expect(await env.app.connector.find(`${env.cfg.nqnPrefix}:${id}`)).toBeUndefined();
    await env.client.nodeCall('NodeUnstageVolume', unstageReq);
    await env.restart();
    await env.client.nodeCall('NodeUnstageVolume', unstageReq);

    // Staging again finds the file system written before and does not format it: the file is still there.
    await env.client.nodeCall('NodeStageVolume', stageReq);
    expect(readFileSync(path.join(staging, 'hello.txt'), 'utf8')).toBe('data that must survive');
    await env.client.nodeCall('NodeUnstageVolume', unstageReq);
  });

  test('read-only publish is honoured', async () => {
    const id = 'vol-fs-ro';
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging-ro');
    const target = path.join(env.dir, 'pods', 'ro', 'mount');
    const base = { volumeId: id, stagingTargetPath: staging, volumeCapability: MOUNT_CAP('ext4'), volumeContext: env.volumeContext(id) };
    await env.client.nodeCall('NodeStageVolume', base);
    await env.client.nodeCall('NodePublishVolume', { ...base, targetPath: target, readonly: true });
    expect(() => writeFileSync(path.join(target, 'x'), 'y')).toThrow(/EROFS|read-only/);
    writeFileSync(path.join(staging, 'x'), 'y'); // the staging mount stays writable
    const again = await codeOf(env.client.nodeCall('NodePublishVolume', { ...base, targetPath: target, readonly: false }));
    expect(again.code).toBe(6); // ALREADY_EXISTS: published read-only, asked read-write
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
  });
});
