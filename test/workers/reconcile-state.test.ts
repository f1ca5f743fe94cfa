import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/log/logger';
import { createRdsPort } from '../../src/rds';
import type { VolumeRecord } from '../../src/state/volume-record';
import { driverState } from '../../src/state/stores';
import { startController } from '../../src/runtime/controller-app';
import { status } from '@grpc/grpc-js';
import { BLOCK_RWX, MOUNT_RWO, codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { waitFor } from '../support/wait';

/** Redis loses everything: the records come back from RDS, and the CO's retries find their volumes again. */
const MiB = 1024 * 1024;

/** The volume record of `id` straight from Redis: a disk adopted unexported is a 'creating' record, which no RPC lists. */
async function recordOf(h: Harness, id: string): Promise<VolumeRecord | undefined> {
  const redis = new Redis(h.redis.url);
  try {
    return await driverState(redis, h.cfg.queuePrefix).volumes.get(id);
  } finally {
    redis.disconnect();
  }
}
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
    const rds = createRdsPort({
      host: h.sim.host,
      port: h.sim.port,
      user: 'admin',
      password: 'secret',
      connectTimeoutMs: 1000,
      callTimeoutMs: 5000,
      poolName: 'pool',
    });
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
    expect(await recordOf(h, outside)).toBeUndefined();

    // A rebuilt block volume can be published before anyone re-asserts its access type.
    await h.client.ctl('ControllerPublishVolume', { volumeId: vm.volumeId, nodeId: 'n1', volumeCapability: BLOCK_RWX });
    // The provisioner's retry of the same CreateVolume finds the same volume (its name and type are adopted).
    expect((await h.client.ctl('CreateVolume', req(PVC, MOUNT_RWO))).volume).toMatchObject({
      volumeId: pvc.volumeId,
      capacityBytes: String(4 * MiB),
    });
    expect((await h.client.ctl('CreateVolume', req('vm-disk', BLOCK_RWX))).volume.volumeId).toBe(vm.volumeId);
    expect(h.sim.disks().filter((d) => !d.slot.startsWith(`${volumePrefix}snap-`) && d.slot !== outside)).toHaveLength(2);
    // A restore from the rebuilt snapshot still works.
    const restored = await h.client.ctl('CreateVolume', {
      ...req('after-loss', MOUNT_RWO),
      volumeContentSource: { snapshot: { snapshotId: snap.snapshotId } },
    });
    expect(restored.volume.capacityBytes).toBe(String(4 * MiB));
  }, 60000);

  // With records in Redis, a worker start must not adopt disks: an orphan (a disk of our shape under the base path
  // that no record knows) stays an orphan for reconcile.orphans to report, never a volume of its own.
  it('adopts nothing when Redis holds records: an orphan disk stays an orphan across a worker start', async () => {
    const kept = (
      await h.client.ctl('CreateVolume', { name: 'kept', capacityRange: { requiredBytes: String(4 * MiB) }, volumeCapabilities: [MOUNT_RWO] })
    ).volume;
    const orphan = `${volumePrefix}pvc-99999999-2222-4333-8444-555555555555`;
    const rds = createRdsPort({
      host: h.sim.host,
      port: h.sim.port,
      user: 'admin',
      password: 'secret',
      connectTimeoutMs: 1000,
      callTimeoutMs: 5000,
      poolName: 'pool',
    });
    await rds.addDisk({ slot: orphan, filePath: `${h.cfg.rds.basePath}/${orphan}.img`, fileSizeBytes: MiB });
    await rds.close();
    const before = (await h.client.ctl('ListVolumes', {})).entries.map((e: { volume: { volumeId: string } }) => e.volume.volumeId).sort();
    expect(before).toContain(kept.volumeId);

    // The start-up job id is per minute: drop the earlier runs so that this worker start runs reconcile.state again.
    const redis = new Redis(h.redis.url);
    const queue = new Queue('volumes', { connection: redis, prefix: h.cfg.queuePrefix });
    try {
      const runs = async () =>
        (await queue.getJobs(['completed', 'failed', 'waiting', 'active', 'delayed'])).filter((j) => j?.name === 'reconcile.state');
      for (const j of await runs()) await j.remove();
      await h.controller!.close();
      h.controller = await startController(h.cfg, { endpoint: h.endpoint, withWorker: true }, createLogger('silent'));
      await waitFor(async () => (await runs()).some((j) => j.finishedOn !== undefined), 15000, 'reconcile.state to run at worker start');
      const [run] = await runs();
      expect(run.failedReason).toBeUndefined();
      expect(run.returnvalue).toEqual({ volumes: 0, snapshots: 0 });
    } finally {
      await queue.close();
      redis.disconnect();
    }
    const after = (await h.client.ctl('ListVolumes', {})).entries.map((e: { volume: { volumeId: string } }) => e.volume.volumeId).sort();
    expect(after).toEqual(before);
    expect((await codeOf(h.client.ctl('ControllerGetVolume', { volumeId: orphan }))).code).toBe(status.NOT_FOUND);
    expect(await recordOf(h, orphan)).toBeUndefined();
  }, 60000);
});
