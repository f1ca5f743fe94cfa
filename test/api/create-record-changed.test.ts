import { status } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { snapshotIdFromName, volumeIdFromName } from '../../src/domain/ids';
import { DriverKeys } from '../../src/state/keys';
import { MOUNT_RWO, codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { waitFor } from '../support/wait';

/**
 * CreateVolume answers success only for a record it made ready. When the volume's record changes generation or goes
 * away while the disk.create job runs (Redis lost it and the reconciler rebuilt it, or a DeleteVolume finished), the
 * controller's generation-checked write of "ready" applies to nothing: the answer is then ABORTED (the provisioner
 * retries), never OK for a volume whose record is not ready.
 */
const MiB = 1024 * 1024;

function createReq(name: string) {
  return { name, capacityRange: { requiredBytes: String(16 * MiB) }, volumeCapabilities: [MOUNT_RWO], parameters: {} };
}

describe('CreateVolume when its record changes while the job runs', () => {
  let h: Harness;
  let redis: Redis;
  let keys: DriverKeys;
  beforeAll(async () => {
    h = await startHarness();
    redis = new Redis(h.redis.url, { maxRetriesPerRequest: null });
    keys = new DriverKeys(h.cfg.queuePrefix);
  });
  afterAll(async () => {
    redis.disconnect();
    await h.stop();
  });
  afterEach(() => h.sim.faults.set({ latencyMs: 0 }));

  type Change = (key: string, raw: string) => Promise<unknown>;
  const changes: Array<[string, Change]> = [
    ['the record is removed', (key) => redis.del(key)],
    ['the record gets another generation', (key, raw) => redis.set(key, JSON.stringify({ ...JSON.parse(raw), gen: 'othergen' }))],
  ];

  test.each(changes)('%s: ABORTED, not OK; the retry is OK with one disk', async (_what, change) => {
    const name = `changed-${Math.random().toString(36).slice(2, 8)}`;
    const key = keys.record('vol', volumeIdFromName(name, h.cfg.volumePrefix));
    h.sim.faults.set({ latencyMs: 300 });
    const answer = codeOf(h.client.ctl('CreateVolume', createReq(name)));
    const raw = await waitFor(async () => (await redis.get(key)) ?? '', 10_000, 'the claimed record');
    expect(JSON.parse(raw)).toMatchObject({ state: 'creating' });
    // Changed once the job holds the volume's lease (it is then past its generation check, queue/lease.ts TAKE).
    const id = volumeIdFromName(name, h.cfg.volumePrefix);
    await waitFor(async () => (await redis.get(keys.lease(id))) ?? '', 10_000, 'the job holding the lease');
    await change(key, raw);
    const got = await answer;
    expect(got.code).toBe(status.ABORTED);
    expect(got.details).toMatch(/changed while it was being created.*retry/);
    h.sim.faults.set({ latencyMs: 0 });
    // The retry finds the disk the first job made (same slot) and answers OK with a ready record; one disk, not two.
    const retry = await codeOf(h.client.ctl('CreateVolume', createReq(name)));
    expect(retry).toEqual({});
    expect(JSON.parse((await redis.get(key)) ?? '{}')).toMatchObject({ state: 'ready', capacityBytes: 16 * MiB });
    expect(h.sim.disks().filter((d) => d.slot === volumeIdFromName(name, h.cfg.volumePrefix))).toHaveLength(1);
  });

  test.each(changes)('CreateSnapshot, %s: ABORTED, not a ready snapshot; the retry is OK', async (_what, change) => {
    const vol = (await h.client.ctl('CreateVolume', createReq(`snapsrc-${Math.random().toString(36).slice(2, 8)}`))).volume.volumeId;
    const name = `snapchanged-${Math.random().toString(36).slice(2, 8)}`;
    const key = keys.record('snap', snapshotIdFromName(name, h.cfg.volumePrefix));
    h.sim.faults.set({ latencyMs: 300 });
    const answer = codeOf(h.client.ctl('CreateSnapshot', { name, sourceVolumeId: vol, parameters: {} }, 20_000));
    const raw = await waitFor(async () => (await redis.get(key)) ?? '', 10_000, 'the claimed snapshot record');
    expect(JSON.parse(raw)).toMatchObject({ state: 'creating' });
    await change(key, raw);
    const got = await answer;
    expect(got.code).toBe(status.ABORTED);
    expect(got.details).toMatch(/changed while it was being created.*retry/);
    h.sim.faults.set({ latencyMs: 0 });
    expect(await codeOf(h.client.ctl('CreateSnapshot', { name, sourceVolumeId: vol, parameters: {} }, 20_000))).toEqual({});
    expect(JSON.parse((await redis.get(key)) ?? '{}')).toMatchObject({ state: 'ready' });
  });
});
