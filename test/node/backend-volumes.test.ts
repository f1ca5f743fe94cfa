import { existsSync, lstatSync, mkdirSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { codeOf } from '../support/csi-client';
import { BLOCK_CAP, describeRoot, isMountPoint, loopDevicesUnder, MiB, MOUNT_CAP, type NodeEnv, NQN_PREFIX, startNodeEnv } from './support';
import { answeringPort, type Endpoint, refusingPort } from './tcp-fixtures';

/**
 * Issue 16, the node side, volumes: an id `<slot>@<backend>` names a volume on another RDS backend. Everything the
 * node derives from it on the host is the slot's (the NQN `<prefix>:<slot>`, the loop connector's `<slot>.img`, the
 * lock, the LUKS2 mapping name), so attribution compares against the slot's NQN; NodeStage of a volume on a backend
 * this node did not report (node.backends) is FAILED_PRECONDITION before the host is touched. Real loop devices,
 * mkfs and mounts, over the plugin's gRPC socket.
 */

let up: Endpoint;
let refused: number;
beforeAll(async () => {
  [up, refused] = await Promise.all([answeringPort(), refusingPort()]);
});
afterAll(async () => {
  await up?.close();
});

const slotNqn = (slot: string): string => `${NQN_PREFIX}:${slot}`;

describeRoot('volumes of other RDS backends on the loop connector', () => {
  let env: NodeEnv;
  let listed: string;
  beforeAll(async () => {
    listed = `default=127.0.0.1:${up.port},rack-b=127.0.0.1:${up.port},rack-c=127.0.0.1:${refused}`;
    env = await startNodeEnv({ backends: listed, backendReachMs: 1500 });
  });
  afterAll(async () => {
    await env?.stop();
  });

  const CASES: Array<[string, string, 'mount' | 'block', number]> = [
    ['xfs on rack-b', 'vol-bk-fs', 'mount', 320 * MiB], // xfs grows online without CAP_SYS_RESOURCE
    ['block on rack-b', 'vol-bk-blk', 'block', 32 * MiB],
  ];

  test.each(CASES)('%s: stage, publish, stats, expand, unpublish, unstage by <slot>@rack-b, each twice', async (_n, slot, kind, size) => {
    const id = `${slot}@rack-b`;
    const file = env.createVolume(slot, size); // the backing file is the slot's, as on the primary
    const staging = path.join(env.dir, `staging-${slot}`);
    mkdirSync(staging, { recursive: true });
    const target = path.join(env.dir, 'pods', slot, kind === 'mount' ? 'mount' : 'dev');
    const cap = kind === 'mount' ? MOUNT_CAP('xfs') : BLOCK_CAP();
    const volumeContext = { ...env.volumeContext(slot, kind) }; // nqn: <prefix>:<slot>
    const stageReq = { volumeId: id, stagingTargetPath: staging, volumeCapability: cap, volumeContext };

    await env.client.nodeCall('NodeStageVolume', stageReq);
    await env.client.nodeCall('NodeStageVolume', stageReq);
    const dev = await env.app.connector.find(slotNqn(slot));
    expect(dev).toBeDefined();
    expect(loopDevicesUnder(env.dir)).toContain(dev?.name); // backed by <slot>.img
    expect(isMountPoint(staging)).toBe(kind === 'mount');

    const pubReq = { ...stageReq, targetPath: target };
    await env.client.nodeCall('NodePublishVolume', pubReq);
    await env.client.nodeCall('NodePublishVolume', pubReq);
    if (kind === 'mount') expect(isMountPoint(target)).toBe(true);
    else expect(lstatSync(target).isBlockDevice()).toBe(true);

    const stats = await env.client.nodeCall('NodeGetVolumeStats', { volumeId: id, volumePath: target });
    expect(stats.volumeCondition).toEqual({ abnormal: false, message: 'volume is healthy' });

    truncateSync(file, size + 32 * MiB);
    const expandReq = { volumeId: id, volumePath: target, stagingTargetPath: staging, capacityRange: { requiredBytes: String(size + 32 * MiB) } };
    expect((await env.client.nodeCall('NodeExpandVolume', expandReq)).capacityBytes).toBe(String(size + 32 * MiB));
    expect((await env.client.nodeCall('NodeExpandVolume', expandReq)).capacityBytes).toBe(String(size + 32 * MiB));

    // Another backend's id with the same slot is the same volume on this host: what it shows is attributable to it.
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: target });
    expect(existsSync(target)).toBe(false);
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
    expect(isMountPoint(staging)).toBe(false);
    expect(await env.app.connector.find(slotNqn(slot))).toBeUndefined();
  });

  test('the NQN in volume_context must be the slot’s: <prefix>:<slot>@<backend> is INVALID_ARGUMENT', async () => {
    const slot = 'vol-bk-nqn';
    env.createVolume(slot);
    const staging = path.join(env.dir, 'staging-nqn');
    const r = await codeOf(
      env.client.nodeCall('NodeStageVolume', {
        volumeId: `${slot}@rack-b`,
        stagingTargetPath: staging,
        volumeCapability: MOUNT_CAP(),
        volumeContext: { ...env.volumeContext(slot), nqn: `${NQN_PREFIX}:${slot}@rack-b` },
      }),
    );
    expect(r.code).toBe(3);
    expect(existsSync(staging)).toBe(false);
  });

  test.each([
    ['a malformed mark', 'vol-x@'],
    ['a mark with no slot', '@rack-b'],
    ['a backend name that is not a label value', 'vol-x@-b'],
    ['an upper-case slot', 'Vol-x@rack-b'],
    ['two marks', 'vol-x@a@b'],
  ])('%s (%s): INVALID_ARGUMENT on every RPC', async (_n, id) => {
    const staging = path.join(env.dir, 'staging-bad');
    const calls: Array<[string, object]> = [
      ['NodeStageVolume', { volumeId: id, stagingTargetPath: staging, volumeCapability: MOUNT_CAP(), volumeContext: env.volumeContext('vol-x') }],
      ['NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging }],
      ['NodeUnpublishVolume', { volumeId: id, targetPath: path.join(env.dir, 't') }],
      ['NodeGetVolumeStats', { volumeId: id, volumePath: path.join(env.dir, 't') }],
    ];
    for (const [method, req] of calls) expect((await codeOf(env.client.nodeCall(method, req))).code).toBe(3);
  });

  test.each([
    ['rack-c, listed but unreached', 'vol-rf-c@rack-c', 'rack-c'],
    ['rack-z, not listed', 'vol-rf-z@rack-z', 'rack-z'],
  ])('NodeStage of a volume on %s: FAILED_PRECONDITION naming the backend and the node, nothing touched', async (_n, id, backend) => {
    const slot = id.split('@')[0];
    env.createVolume(slot);
    const staging = path.join(env.dir, `staging-${slot}`);
    const r = await codeOf(
      env.client.nodeCall('NodeStageVolume', {
        volumeId: id,
        stagingTargetPath: staging,
        volumeCapability: MOUNT_CAP(),
        volumeContext: env.volumeContext(slot),
      }),
    );
    expect(r.code).toBe(9);
    expect(r.details).toBe(`volume ${id} is on RDS backend ${backend}, which node node-a cannot reach (node.backends: ${listed})`);
    expect(existsSync(staging)).toBe(false);
    expect(await env.app.connector.find(slotNqn(slot))).toBeUndefined();
  });
});

describeRoot('NodeStage and the backends a node reports', () => {
  test.each([
    ['no node.backends: a volume of any backend is staged (no check, as before)', '', 'vol-nb-a@rack-c', undefined],
    ['the primary not listed: a bare-slot volume is refused', 'rack-b=127.0.0.1:{UP}', 'vol-nb-b', 'default'],
    ['the primary listed and reached: a bare-slot volume is staged', 'default=127.0.0.1:{UP}', 'vol-nb-c', undefined],
  ])('%s', async (_n, backends, id, refusedBackend) => {
    const env = await startNodeEnv({ backends: backends.replace('{UP}', String(up.port)), backendReachMs: 1500 });
    try {
      const slot = id.split('@')[0];
      env.createVolume(slot);
      const staging = path.join(env.dir, 'staging');
      const req = { volumeId: id, stagingTargetPath: staging, volumeCapability: BLOCK_CAP(), volumeContext: env.volumeContext(slot, 'block') };
      const r = await codeOf(env.client.nodeCall('NodeStageVolume', req));
      if (refusedBackend) {
        expect(r.code).toBe(9);
        expect(r.details).toContain(`is on RDS backend ${refusedBackend}, which node node-a cannot reach`);
        expect(await env.app.connector.find(slotNqn(slot))).toBeUndefined();
      } else {
        expect(r.code).toBeUndefined();
        expect(await env.app.connector.find(slotNqn(slot))).toBeDefined();
        await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
      }
    } finally {
      await env.stop();
    }
  });
});
