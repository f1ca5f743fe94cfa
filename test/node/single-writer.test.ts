import { status } from '@grpc/grpc-js';
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { codeOf } from '../support/csi-client';
import { BLOCK_CAP, describeRoot, isMountPoint, MOUNT_CAP, type NodeEnv, startNodeEnv } from './support';

/**
 * ReadWriteOncePod on the node (issue 15 item 4), over real gRPC, loop devices, mkfs, mounts and mknod. CSI spec,
 * NodePublishVolume, the table for plugins with the SINGLE_NODE_MULTI_WRITER capability: a second target path is
 * FAILED_PRECONDITION for SINGLE_NODE_SINGLE_WRITER and OK for SINGLE_NODE_MULTI_WRITER; SINGLE_NODE_WRITER keeps this
 * driver's behaviour (several pods of one node). The same path again is idempotent. The first publication is found
 * from mountinfo (filesystem) or the device node beside the target (block, kubelet's volumeDevices/publish/<pv>/<pod>
 * layout) and is never touched.
 */

type Kind = 'mount' | 'block';
const CASES: Array<[Kind, string, 'refused' | 'allowed']> = [
  ['mount', 'SINGLE_NODE_SINGLE_WRITER', 'refused'],
  ['mount', 'SINGLE_NODE_MULTI_WRITER', 'allowed'],
  ['mount', 'SINGLE_NODE_WRITER', 'allowed'],
  ['block', 'SINGLE_NODE_SINGLE_WRITER', 'refused'],
  ['block', 'SINGLE_NODE_MULTI_WRITER', 'allowed'],
  ['block', 'SINGLE_NODE_WRITER', 'allowed'],
];

describeRoot('node plugin, SINGLE_NODE_SINGLE_WRITER / SINGLE_NODE_MULTI_WRITER (loop connector)', () => {
  let env: NodeEnv;
  beforeAll(async () => {
    env = await startNodeEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  test('NodeGetCapabilities advertises SINGLE_NODE_MULTI_WRITER', async () => {
    const caps = await env.client.nodeCall('NodeGetCapabilities');
    expect(caps.capabilities.map((c: { rpc: { type: string } }) => c.rpc.type)).toContain('SINGLE_NODE_MULTI_WRITER');
  });

  test.each(CASES)('%s %s: a second target path on the node is %s; the same path again is OK', async (kind, mode, outcome) => {
    const id = `vol-sw-${kind}-${mode.toLowerCase().replace(/_/g, '-')}`;
    env.createVolume(id);
    const staging = path.join(env.dir, 'staging', id);
    // kubelet's layouts: pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount and volumeDevices/publish/<pv>/<pod uid>.
    const targetOf = (pod: string): string =>
      kind === 'mount' ? path.join(env.dir, 'pods', pod, 'volumes', id, 'mount') : path.join(env.dir, 'volumeDevices', 'publish', id, pod);
    const [t1, t2] = [targetOf('pod-1'), targetOf('pod-2')];
    const cap = kind === 'mount' ? MOUNT_CAP('ext4', mode) : BLOCK_CAP(mode);
    const base = { volumeId: id, stagingTargetPath: staging, volumeCapability: cap, volumeContext: env.volumeContext(id, kind) };
    const published = (p: string): boolean =>
      kind === 'mount' ? isMountPoint(p) : lstatSync(p, { throwIfNoEntry: false })?.isBlockDevice() === true;

    await env.client.nodeCall('NodeStageVolume', base);
    await env.client.nodeCall('NodePublishVolume', { ...base, targetPath: t1 });
    await env.client.nodeCall('NodePublishVolume', { ...base, targetPath: t1 }); // idempotent: the same path
    const second = await codeOf(env.client.nodeCall('NodePublishVolume', { ...base, targetPath: t2 }));
    if (outcome === 'refused') {
      expect(second.code).toBe(status.FAILED_PRECONDITION);
      expect(second.details).toContain(`already published on this node at ${t1}`);
      expect(published(t2)).toBe(false);
      expect(published(t1)).toBe(true); // the first publication is left alone
      await env.client.nodeCall('NodePublishVolume', { ...base, targetPath: t1 }); // still idempotent after a refusal
      // Unpublished at the first path: the second may have it now.
      await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: t1 });
      await env.client.nodeCall('NodePublishVolume', { ...base, targetPath: t2 });
    } else {
      expect(second.code).toBeUndefined();
      expect(published(t1)).toBe(true);
    }
    expect(published(t2)).toBe(true);
    for (const t of [t1, t2]) await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: t });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging });
    expect(published(t1) || published(t2)).toBe(false);
  });

  test('a mount of another volume elsewhere does not count against a single-writer volume', async () => {
    const [a, b] = ['vol-sw-other-a', 'vol-sw-other-b'];
    const stage = async (id: string, mode: string): Promise<Record<string, unknown>> => {
      env.createVolume(id);
      const req = {
        volumeId: id,
        stagingTargetPath: path.join(env.dir, 'staging', id),
        volumeCapability: MOUNT_CAP('ext4', mode),
        volumeContext: env.volumeContext(id),
      };
      await env.client.nodeCall('NodeStageVolume', req);
      return req;
    };
    const ra = await stage(a, 'SINGLE_NODE_MULTI_WRITER');
    const rb = await stage(b, 'SINGLE_NODE_SINGLE_WRITER');
    await env.client.nodeCall('NodePublishVolume', { ...ra, targetPath: path.join(env.dir, 'pods', 'p1', 'a') });
    await env.client.nodeCall('NodePublishVolume', { ...ra, targetPath: path.join(env.dir, 'pods', 'p2', 'a') });
    await env.client.nodeCall('NodePublishVolume', { ...rb, targetPath: path.join(env.dir, 'pods', 'p1', 'b') });
    for (const [r, t] of [
      [ra, 'p1/a'],
      [ra, 'p2/a'],
      [rb, 'p1/b'],
    ] as const)
      await env.client.nodeCall('NodeUnpublishVolume', { volumeId: r.volumeId, targetPath: path.join(env.dir, 'pods', t) });
    for (const r of [ra, rb]) await env.client.nodeCall('NodeUnstageVolume', { volumeId: r.volumeId, stagingTargetPath: r.stagingTargetPath });
  });
});
