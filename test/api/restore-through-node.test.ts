import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../../src/log/logger';
import { startNode, type NodeApp } from '../../src/runtime/node-app';
import { CsiClient } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { describeRoot } from '../node/support';

/**
 * Issue 6: the bytes written before a snapshot are read back from the restored volume — and from a clone —
 * through the node plugin (loop connector over the simulator's backing files), the way a pod would see them.
 */
const MiB = 1024 * 1024;
const CAP = { mount: { fsType: 'ext4', mountFlags: [] }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };

describeRoot('snapshot restore and clone carry the data through the node plugin', () => {
  let h: Harness;
  let node: NodeApp;
  let nodeClient: CsiClient;
  beforeAll(async () => {
    h = await startHarness({ overrides: { nodes: 'n1', 'kubernetes.mode': 'off' } });
    const endpoint = `unix://${path.join(h.dir, 'node.sock')}`;
    node = await startNode(
      h.cfg,
      { endpoint, node: { nodeId: 'n1', connector: 'loop', loopDataDir: h.sim.dataDir, kubeletDir: h.dir, orphanIntervalMs: 0 } },
      createLogger('silent'),
    );
    nodeClient = new CsiClient(endpoint);
  });
  afterAll(async () => {
    nodeClient.close();
    await node.close();
    await h.stop();
  });

  async function provision(name: string, source?: object): Promise<{ id: string; ctx: Record<string, string> }> {
    const v = (
      await h.client.ctl(
        'CreateVolume',
        { name, capacityRange: { requiredBytes: String(32 * MiB) }, volumeCapabilities: [CAP], ...(source ? { volumeContentSource: source } : {}) },
        20000,
      )
    ).volume;
    await h.client.ctl('ControllerPublishVolume', { volumeId: v.volumeId, nodeId: 'n1', volumeCapability: CAP });
    return { id: v.volumeId, ctx: v.volumeContext };
  }
  async function mount(v: { id: string; ctx: Record<string, string> }): Promise<string> {
    const staging = path.join(h.dir, 'staging', v.id);
    const target = path.join(h.dir, 'pods', v.id, 'mount');
    const base = { volumeId: v.id, volumeContext: v.ctx, volumeCapability: CAP, stagingTargetPath: staging };
    await nodeClient.nodeCall('NodeStageVolume', base, 60000);
    await nodeClient.nodeCall('NodePublishVolume', { ...base, targetPath: target });
    return target;
  }
  async function unmount(v: { id: string }): Promise<void> {
    await nodeClient.nodeCall('NodeUnpublishVolume', { volumeId: v.id, targetPath: path.join(h.dir, 'pods', v.id, 'mount') });
    await nodeClient.nodeCall('NodeUnstageVolume', { volumeId: v.id, stagingTargetPath: path.join(h.dir, 'staging', v.id) });
  }

  it('reads back from a restored volume and a clone what was written before the snapshot', async () => {
    const source = await provision('restore-src');
    const srcPath = await mount(source);
    writeFileSync(path.join(srcPath, 'data.txt'), 'written before the snapshot');
    await unmount(source); // flushed and unmounted: a clean snapshot
    const snap = (await h.client.ctl('CreateSnapshot', { name: 'restore-snap', sourceVolumeId: source.id }, 20000)).snapshot;
    expect(snap.readyToUse).toBe(true);

    const later = await mount(source);
    writeFileSync(path.join(later, 'data.txt'), 'written after the snapshot');
    await unmount(source);

    const restored = await provision('restored', { snapshot: { snapshotId: snap.snapshotId } });
    expect(readFileSync(path.join(await mount(restored), 'data.txt'), 'utf8')).toBe('written before the snapshot');
    const clone = await provision('cloned', { volume: { volumeId: source.id } });
    expect(readFileSync(path.join(await mount(clone), 'data.txt'), 'utf8')).toBe('written after the snapshot');
    await unmount(restored);
    await unmount(clone);
  }, 60000);
});
