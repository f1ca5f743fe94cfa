import { Redis } from 'ioredis';
import { createLogger } from '../../src/log/logger';
import { createRdsPort } from '../../src/rds';
import { startController } from '../../src/runtime/controller-app';
import { status } from '@grpc/grpc-js';
import { BLOCK_RWX, MOUNT_RWO, codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { waitFor } from '../support/wait';

/** Redis loses everything: the records come back from RDS, and the CO's retries find their volumes again. */
const MiB = 1024 * 1024;
const PVC = 'pvc-11111111-2222-4333-8444-555555555555';

// With a volume prefix the slots are `<prefix>pvc-…`, `<prefix>vol-…`, `<prefix>snap-…`: reconcile.state must
// recognise them with the configured prefix (issue 11, item 16), not with none.
describe.each(['', 'k1-'])('reconcile.state (volumePrefix %p)', (volumePrefix) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ overrides: { nodes: 'n1', 'kubernetes.mode': 'off', ...(volumePrefix ? { volumePrefix } : {}) } });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('rebuilds volume and snapshot records from RDS after Redis was flushed', async () => {
    const req = (name: string, cap: object) => ({ name, capacityRange: { requiredBytes: String(4 * MiB) }, volumeCapabilities: [cap] });
    const pvc = (await h.client.ctl('CreateVolume', req(PVC, MOUNT_RWO))).volume;
    const vm = (await h.client.ctl('CreateVolume', req('vm-disk', BLOCK_RWX))).volume;
    const snap = (await h.client.ctl('CreateSnapshot', { name: 'before-loss', sourceVolumeId: pvc.volumeId })).snapshot;
    expect([pvc.volumeId, vm.volumeId, snap.snapshotId].every((id: string) => id.startsWith(volumePrefix))).toBe(true);
    // A disk of our shape whose backing file is outside the base path is never adopted.
    const rds = createRdsPort({ host: h.sim.host, port: h.sim.port, user: 'admin', password: 'secret', connectTimeoutMs: 1000, callTimeoutMs: 5000, poolName: 'pool' });
    const outside = `${volumePrefix}vol-outside-000000000000`;
    await rds.addDisk({ slot: outside, filePath: `/pool/elsewhere/${outside}.img`, fileSizeBytes: MiB });
    await rds.close();

    const redis = new Redis(h.redis.url);
    await redis.flushall();
    await redis.quit();
    await h.controller!.close();
    h.controller = await startController(h.cfg, { endpoint: h.endpoint, withWorker: true }, createLogger('silent'));

    const ids = async () => (await h.client.ctl('ListVolumes', {})).entries.map((e: { volume: { volumeId: string } }) => e.volume.volumeId).sort();
    await waitFor(async () => (await ids()).length === 2, 15000, 'the records to be rebuilt');
    expect(await ids()).toEqual([pvc.volumeId, vm.volumeId].sort());
    const snaps = (await h.client.ctl('ListSnapshots', {})).entries.map((e: { snapshot: { snapshotId: string } }) => e.snapshot.snapshotId);
    expect(snaps).toEqual([snap.snapshotId]);
    expect((await codeOf(h.client.ctl('ControllerGetVolume', { volumeId: outside }))).code).toBe(status.NOT_FOUND);

    // A rebuilt block volume can be published before anyone re-asserts its access type.
    await h.client.ctl('ControllerPublishVolume', { volumeId: vm.volumeId, nodeId: 'n1', volumeCapability: BLOCK_RWX });
    // The provisioner's retry of the same CreateVolume finds the same volume (its name and type are adopted).
    expect((await h.client.ctl('CreateVolume', req(PVC, MOUNT_RWO))).volume).toMatchObject({ volumeId: pvc.volumeId, capacityBytes: String(4 * MiB) });
    expect((await h.client.ctl('CreateVolume', req('vm-disk', BLOCK_RWX))).volume.volumeId).toBe(vm.volumeId);
    expect(h.sim.disks().filter((d) => !d.slot.startsWith(`${volumePrefix}snap-`) && d.slot !== outside)).toHaveLength(2);
    // A restore from the rebuilt snapshot still works.
    const restored = await h.client.ctl('CreateVolume', { ...req('after-loss', MOUNT_RWO), volumeContentSource: { snapshot: { snapshotId: snap.snapshotId } } });
    expect(restored.volume.capacityBytes).toBe(String(4 * MiB));
  }, 60000);
});
