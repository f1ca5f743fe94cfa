import { status } from '@grpc/grpc-js';
import { BLOCK_RWX, MOUNT_RWO, codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';

/** Fencing and live-migration rules (standalone mode: nodes n1..n3 configured), through the queue. */
const MiB = 1024 * 1024;
const RWO_BLOCK = { block: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } };

describe('ControllerPublish/Unpublish and live migration', () => {
  let h: Harness;
  const create = async (name: string, cap: object, parameters: Record<string, string> = {}) =>
    (await h.client.ctl('CreateVolume', { name, capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [cap], parameters }, 20000)).volume
      .volumeId as string;
  const publish = (volumeId: string, nodeId: string, cap: object, readonly = false) =>
    h.client.ctl('ControllerPublishVolume', { volumeId, nodeId, volumeCapability: cap, readonly }, 20000);
  const unpublish = (volumeId: string, nodeId: string) => h.client.ctl('ControllerUnpublishVolume', { volumeId, nodeId }, 20000);
  const metric = async (name: string, labels: string): Promise<number> => {
    const text = await h.controller!.metrics.registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(labels));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  beforeAll(async () => {
    h = await startHarness({ overrides: { nodes: 'n1,n2,n3', 'kubernetes.mode': 'off' } });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('advertises publishing and published nodes', async () => {
    const types = (await h.client.ctl('ControllerGetCapabilities')).capabilities.map((c: { rpc: { type: string } }) => c.rpc.type);
    expect(types).toEqual(expect.arrayContaining(['PUBLISH_UNPUBLISH_VOLUME', 'LIST_VOLUMES_PUBLISHED_NODES', 'PUBLISH_READONLY']));
  });

  it('fences a single-node volume to one node', async () => {
    const vol = await create('rwo-fs', MOUNT_RWO);
    const first = await publish(vol, 'n1', MOUNT_RWO);
    expect(first.publishContext).toMatchObject({ nqn: expect.stringContaining(vol), targetPort: '4420' });
    expect((await publish(vol, 'n1', MOUNT_RWO)).publishContext).toEqual(first.publishContext);
    const ro = await codeOf(publish(vol, 'n1', MOUNT_RWO, true));
    expect(ro.code).toBe(status.ALREADY_EXISTS);
    const other = await codeOf(publish(vol, 'n2', MOUNT_RWO));
    expect(other.code).toBe(status.FAILED_PRECONDITION);
    expect(other.details).toMatch(/published to node n1/);
    expect((await h.client.ctl('ControllerGetVolume', { volumeId: vol })).status.publishedNodeIds).toEqual(['n1']);
    const listed = (await h.client.ctl('ListVolumes', {})).entries.find((e: { volume: { volumeId: string } }) => e.volume.volumeId === vol);
    expect(listed.status.publishedNodeIds).toEqual(['n1']);
    await unpublish(vol, 'n2'); // not published there: OK
    await unpublish(vol, 'n1');
    await unpublish(vol, 'n1'); // again: OK
    expect((await publish(vol, 'n2', MOUNT_RWO)).publishContext).toEqual(first.publishContext);
    expect(await metric('rds_csi_attachment_conflicts_total', 'kind="single-node"')).toBeGreaterThanOrEqual(1);
  });

  it('answers the CSI error codes of ControllerPublishVolume', async () => {
    const vol = await create('codes-fs', MOUNT_RWO);
    const cases: Array<[object, status, RegExp]> = [
      [{ volumeId: vol, nodeId: 'ghost', volumeCapability: MOUNT_RWO }, status.NOT_FOUND, /node ghost does not exist/],
      [{ volumeId: 'vol-missing-000000000000', nodeId: 'n1', volumeCapability: MOUNT_RWO }, status.NOT_FOUND, /does not exist/],
      [{ volumeId: '', nodeId: 'n1', volumeCapability: MOUNT_RWO }, status.INVALID_ARGUMENT, /volume_id/],
      [{ volumeId: vol, nodeId: '', volumeCapability: MOUNT_RWO }, status.INVALID_ARGUMENT, /node_id/],
      [{ volumeId: vol, nodeId: 'n1' }, status.INVALID_ARGUMENT, /volume_capability is required/],
      [{ volumeId: vol, nodeId: 'n1', volumeCapability: RWO_BLOCK }, status.INVALID_ARGUMENT, /mount volume/],
      [
        { volumeId: vol, nodeId: 'n1', volumeCapability: { mount: {}, accessMode: { mode: 'MULTI_NODE_MULTI_WRITER' } } },
        status.INVALID_ARGUMENT,
        /volumeMode: Block/,
      ],
    ];
    for (const [req, code, message] of cases) {
      const res = await codeOf(h.client.ctl('ControllerPublishVolume', req));
      expect({ req, code: res.code }).toEqual({ req, code });
      expect(res.details).toMatch(message);
    }
    await h.client.ctl('ControllerUnpublishVolume', { volumeId: 'vol-missing-000000000000', nodeId: 'n1' });
    expect((await codeOf(h.client.ctl('ControllerUnpublishVolume', { volumeId: '' }))).code).toBe(status.INVALID_ARGUMENT);
  });

  it('lets an RWX block volume live-migrate between two nodes, never three', async () => {
    const vol = await create('vm-disk', BLOCK_RWX);
    await publish(vol, 'n1', BLOCK_RWX);
    await publish(vol, 'n2', BLOCK_RWX);
    const during = await h.client.ctl('ControllerGetVolume', { volumeId: vol });
    expect(during.status.publishedNodeIds.sort()).toEqual(['n1', 'n2']);
    expect(during.status.volumeCondition.message).toMatch(/migration from n1 to n2 in progress/);
    const third = await codeOf(publish(vol, 'n3', BLOCK_RWX));
    expect(third.code).toBe(status.FAILED_PRECONDITION);
    expect(third.details).toMatch(/at most 2/);
    const before = await metric('rds_csi_migration_duration_seconds_count', 'outcome="completed"');
    await unpublish(vol, 'n1'); // the source leaves: migration completed
    expect(await metric('rds_csi_migration_duration_seconds_count', 'outcome="completed"')).toBe(before + 1);
    expect((await h.client.ctl('ControllerGetVolume', { volumeId: vol })).status.volumeCondition.abnormal).toBe(false);
    // The target leaving instead aborts the next migration.
    await publish(vol, 'n3', BLOCK_RWX);
    const aborted = await metric('rds_csi_migration_duration_seconds_count', 'outcome="aborted"');
    await unpublish(vol, 'n3');
    expect(await metric('rds_csi_migration_duration_seconds_count', 'outcome="aborted"')).toBe(aborted + 1);
  });

  it('fails a migration that outlives its window: condition abnormal, no new attachment until one side detaches', async () => {
    const vol = await create('vm-short-window', BLOCK_RWX, { migrationWindowSeconds: '10' });
    await publish(vol, 'n1', BLOCK_RWX);
    await publish(vol, 'n2', BLOCK_RWX);
    const deadline = Date.now() + 20000;
    let cond = (await h.client.ctl('ControllerGetVolume', { volumeId: vol })).status.volumeCondition;
    while (!cond.abnormal && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      cond = (await h.client.ctl('ControllerGetVolume', { volumeId: vol })).status.volumeCondition;
    }
    expect(cond).toMatchObject({ abnormal: true, message: expect.stringMatching(/outlived its 10s window/) });
    expect(await metric('rds_csi_migration_duration_seconds_count', 'outcome="failed"')).toBeGreaterThanOrEqual(1);
    await unpublish(vol, 'n2');
    const refused = await codeOf(publish(vol, 'n2', BLOCK_RWX));
    expect(refused.code).toBeUndefined(); // one side detached: attachments are accepted again
  }, 40000);

  it('serializes concurrent publishes of one RWO volume to two nodes: exactly one wins', async () => {
    const vol = await create('rwo-race', RWO_BLOCK);
    const results = await Promise.all([codeOf(publish(vol, 'n1', RWO_BLOCK)), codeOf(publish(vol, 'n2', RWO_BLOCK))]);
    const codes = results.map((r) => r.code).sort();
    expect(codes).toEqual([status.FAILED_PRECONDITION, undefined].sort());
    expect((await h.client.ctl('ControllerGetVolume', { volumeId: vol })).status.publishedNodeIds).toHaveLength(1);
  });
});
