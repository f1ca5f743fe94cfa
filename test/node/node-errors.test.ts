import { status } from '@grpc/grpc-js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { codeOf } from '../support/csi-client';
import { BLOCK_CAP, MOUNT_CAP, type NodeEnv, NQN_PREFIX, startNodeEnv } from './support';

/**
 * The CSI spec's error tables for the Node service: INVALID_ARGUMENT for malformed requests (answered before any
 * host action), NOT_FOUND for volumes and paths that are not there. None of these need root.
 */

describe('node plugin error answers', () => {
  let env: NodeEnv;
  beforeAll(async () => {
    env = await startNodeEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  const id = 'vol-errors';
  const staging = (): string => path.join(env.dir, 'st-err');
  const stage = (over: Record<string, unknown>): object => ({ volumeId: id, stagingTargetPath: staging(), volumeCapability: MOUNT_CAP(), volumeContext: env.volumeContext(id), ...over });
  const publish = (over: Record<string, unknown>): object => ({ ...stage({}), targetPath: path.join(env.dir, 'pods', 'err'), ...over });

  const invalidCases: Array<[string, string, () => object]> = [
    ['stage without volume_id', 'NodeStageVolume', () => stage({ volumeId: '' })],
    ['stage with a volume_id that is not ours', 'NodeStageVolume', () => stage({ volumeId: 'Vol/../x' })],
    ['stage without staging_target_path', 'NodeStageVolume', () => stage({ stagingTargetPath: '' })],
    ['stage with a relative staging path', 'NodeStageVolume', () => stage({ stagingTargetPath: 'rel/path' })],
    ['stage with ".." in the staging path', 'NodeStageVolume', () => stage({ stagingTargetPath: '/tmp/a/../b' })],
    ['stage without volume_capability', 'NodeStageVolume', () => stage({ volumeCapability: null })],
    ['stage without access mode', 'NodeStageVolume', () => stage({ volumeCapability: { mount: { fsType: 'ext4' } } })],
    ['stage with an unsupported fs_type', 'NodeStageVolume', () => stage({ volumeCapability: MOUNT_CAP('btrfs') })],
    ['stage with a denied mount flag', 'NodeStageVolume', () => stage({ volumeCapability: { mount: { fsType: 'ext4', mountFlags: ['noatime', 'bind'] }, accessMode: { mode: 'SINGLE_NODE_WRITER' } } })],
    ['stage of a file system for multi-node writers', 'NodeStageVolume', () => stage({ volumeCapability: MOUNT_CAP('ext4', 'MULTI_NODE_MULTI_WRITER') })],
    ['stage without volume_context.nqn', 'NodeStageVolume', () => stage({ volumeContext: {} })],
    ['stage with the NQN of another volume', 'NodeStageVolume', () => stage({ volumeContext: { ...env.volumeContext(id), nqn: `${NQN_PREFIX}:vol-other` } })],
    ['stage with an NQN outside the prefix', 'NodeStageVolume', () => stage({ volumeContext: { ...env.volumeContext(id), nqn: `nqn.2014-08.org.example:${id}` } })],
    ['stage with a bad ctrlLossTmo', 'NodeStageVolume', () => stage({ volumeContext: { ...env.volumeContext(id), ctrlLossTmo: '-5' } })],
    ['stage with a bad keepAliveTmo in publish_context', 'NodeStageVolume', () => stage({ publishContext: { keepAliveTmo: 'soon' } })],
    ['stage with a bad targetPort', 'NodeStageVolume', () => stage({ volumeContext: { ...env.volumeContext(id), targetPort: '70000' } })],
    ['stage of a mount capability on a block volume', 'NodeStageVolume', () => stage({ volumeContext: env.volumeContext(id, 'block') })],
    ['publish without target_path', 'NodePublishVolume', () => publish({ targetPath: '' })],
    ['publish without staging_target_path', 'NodePublishVolume', () => publish({ stagingTargetPath: '' })],
    ['publish of a block capability on a mount volume', 'NodePublishVolume', () => publish({ volumeCapability: BLOCK_CAP() })],
    ['unpublish without target_path', 'NodeUnpublishVolume', () => ({ volumeId: id })],
    ['unpublish without volume_id', 'NodeUnpublishVolume', () => ({ targetPath: '/tmp/x' })],
    ['unstage without staging_target_path', 'NodeUnstageVolume', () => ({ volumeId: id })],
    ['stats without volume_path', 'NodeGetVolumeStats', () => ({ volumeId: id })],
    ['stats without volume_id', 'NodeGetVolumeStats', () => ({ volumePath: '/tmp' })],
    ['expand without volume_path', 'NodeExpandVolume', () => ({ volumeId: id })],
    ['expand with a negative size', 'NodeExpandVolume', () => ({ volumeId: id, volumePath: '/tmp', capacityRange: { requiredBytes: '-1' } })],
  ];

  test.each(invalidCases)('%s → INVALID_ARGUMENT', async (_name, method, req) => {
    const r = await codeOf(env.client.nodeCall(method, req()));
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.details).toBeTruthy();
  });

  test('stats and expand on a path that does not exist → NOT_FOUND', async () => {
    const missing = path.join(env.dir, 'nothing-here');
    expect((await codeOf(env.client.nodeCall('NodeGetVolumeStats', { volumeId: id, volumePath: missing }))).code).toBe(status.NOT_FOUND);
    expect((await codeOf(env.client.nodeCall('NodeExpandVolume', { volumeId: id, volumePath: missing }))).code).toBe(status.NOT_FOUND);
  });

  test('stats and expand on a directory that is not a volume → NOT_FOUND', async () => {
    const plain = path.join(env.dir, 'plain-dir');
    mkdirSync(plain, { recursive: true });
    const s = await codeOf(env.client.nodeCall('NodeGetVolumeStats', { volumeId: id, volumePath: plain }));
    expect(s.code).toBe(status.NOT_FOUND);
    expect(s.details).toMatch(/not a mounted volume/);
    expect((await codeOf(env.client.nodeCall('NodeExpandVolume', { volumeId: id, volumePath: plain }))).code).toBe(status.NOT_FOUND);
  });

  test('stage of a volume whose disk does not exist → NOT_FOUND', async () => {
    const r = await codeOf(env.client.nodeCall('NodeStageVolume', stage({ volumeId: 'vol-never-created', volumeContext: env.volumeContext('vol-never-created') })));
    expect(r.code).toBe(status.NOT_FOUND);
  });

  test('unpublish and unstage of paths that were never used succeed (idempotent)', async () => {
    await env.client.nodeCall('NodeUnpublishVolume', { volumeId: id, targetPath: path.join(env.dir, 'never-published') });
    await env.client.nodeCall('NodeUnstageVolume', { volumeId: id, stagingTargetPath: path.join(env.dir, 'never-staged') });
  });
});
