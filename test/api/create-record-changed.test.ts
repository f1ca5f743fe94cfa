import { status } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { snapshotIdFromName, volumeIdFromName } from '../../src/domain/ids';
import { DriverKeys } from '../../src/state/keys';
import type { RecordStore, StoredRecord } from '../../src/state/record-store';
import { RedisRecordStore } from '../../src/state/redis-record-store';
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
  afterEach(() => {
    h.sim.faults.set({ latencyMs: 0 });
    jest.restoreAllMocks();
  });
  const rand = (): string => Math.random().toString(36).slice(2, 8);
  const newVolume = async (name: string): Promise<string> => (await h.client.ctl('CreateVolume', createReq(name))).volume.volumeId as string;

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

  /**
   * A delete of an id whose create is still running (an operator, or a second CO: a sidecar has no id before the
   * create answers). The delete marks the record "deleting" and its job waits for the lease the create's job holds;
   * the create's write of "ready" then must not overwrite "deleting" (it is state-checked, not only
   * generation-checked), so the create answers ABORTED and the delete removes the disk and the record.
   */
  interface DeleteRow {
    kind: 'vol' | 'snap';
    start(): Promise<{ id: string; create: () => Promise<unknown>; del: () => Promise<unknown> }>;
    message: RegExp;
  }
  const deletes: Array<[string, DeleteRow]> = [
    [
      'DeleteVolume during CreateVolume',
      {
        kind: 'vol',
        start: () => {
          const name = `delcreate-${rand()}`;
          const id = volumeIdFromName(name, h.cfg.volumePrefix);
          const create = (): Promise<unknown> => h.client.ctl('CreateVolume', createReq(name));
          return Promise.resolve({ id, create, del: () => h.client.ctl('DeleteVolume', { volumeId: id }) });
        },
        message: /volume "delcreate-\w+" is being deleted; retry/,
      },
    ],
    [
      'DeleteSnapshot during CreateSnapshot',
      {
        kind: 'snap',
        start: async () => {
          const vol = await newVolume(`delsnapsrc-${rand()}`);
          const name = `delsnap-${rand()}`;
          const id = snapshotIdFromName(name, h.cfg.volumePrefix);
          const create = (): Promise<unknown> => h.client.ctl('CreateSnapshot', { name, sourceVolumeId: vol, parameters: {} }, 20_000);
          return { id, create, del: () => h.client.ctl('DeleteSnapshot', { snapshotId: id }, 20_000) };
        },
        message: /snapshot "delsnap-\w+" is being deleted; retry/,
      },
    ],
  ];

  test.each(deletes)('%s: the create answers ABORTED, the delete OK; no disk, no record', async (_what, row) => {
    const { id, create, del } = await row.start();
    const key = keys.record(row.kind, id);
    h.sim.faults.set({ latencyMs: 300 });
    const created = codeOf(create());
    // The delete comes once the create's job holds the lease (past its generation check, queue/lease.ts TAKE).
    await waitFor(async () => (await redis.get(keys.lease(id))) ?? '', 10_000, 'the create job holding the lease');
    const deleted = codeOf(del());
    await waitFor(async () => JSON.parse((await redis.get(key)) ?? '{}').state === 'deleting', 10_000, 'the record marked deleting');
    h.sim.faults.set({ latencyMs: 0 });
    const got = await created;
    expect(got.code).toBe(status.ABORTED);
    expect(got.details).toMatch(row.message);
    expect(await deleted).toEqual({});
    expect(await redis.get(key)).toBeNull();
    expect(h.sim.disks().filter((d) => d.slot === id)).toEqual([]);
  });

  /**
   * The same loss without a job in between: another controller's DeleteVolume marks the record "deleting" between
   * this controller's read of the record and its write. Injected by running the change right after the real store's
   * call returns (the code under test is VolumeOperations, not the store).
   */
  function changeAfter(method: 'get' | 'claim', id: string, change: () => Promise<unknown>): void {
    const proto = RedisRecordStore.prototype as RecordStore<StoredRecord>;
    const original = proto[method] as (this: unknown, arg: string | StoredRecord) => Promise<unknown>;
    let fired = false;
    jest.spyOn(proto, method).mockImplementation(async function (this: unknown, arg: string | StoredRecord) {
      const result = await original.call(this, arg);
      if (!fired && (typeof arg === 'string' ? arg : arg.id) === id) {
        fired = true;
        await change();
      }
      return result as never;
    });
  }
  const markDeleting = async (id: string): Promise<void> => {
    const key = keys.record('vol', id);
    await redis.set(key, JSON.stringify({ ...JSON.parse((await redis.get(key)) ?? '{}'), state: 'deleting' }));
  };

  const interleavings: Array<[string, (name: string, id: string) => Promise<{ code?: number; details?: string }>, RegExp | undefined]> = [
    [
      'CreateVolume adopting a rebuilt record: ABORTED',
      async (name, id) => {
        const key = keys.record('vol', id);
        await redis.set(key, JSON.stringify({ ...JSON.parse((await redis.get(key)) ?? '{}'), rebuilt: true, paramsKey: '', context: {} }));
        changeAfter('claim', id, () => markDeleting(id));
        return codeOf(h.client.ctl('CreateVolume', createReq(name)));
      },
      /volume "interleaved-\w+" is being deleted; retry/,
    ],
    [
      'ControllerExpandVolume: OK (the disk grew), the record stays deleting',
      async (_name, id) => {
        h.sim.faults.set({ latencyMs: 200 });
        const answer = codeOf(h.client.ctl('ControllerExpandVolume', { volumeId: id, capacityRange: { requiredBytes: String(32 * MiB) } }));
        // Armed once the disk.expand job runs: the next read is the one expand makes before writing the new size.
        await waitFor(async () => (await redis.get(keys.lease(id))) ?? '', 10_000, 'the expand job holding the lease');
        changeAfter('get', id, () => markDeleting(id));
        return answer;
      },
      undefined,
    ],
  ];

  test.each(interleavings)('a delete between the read and the write, %s', async (_what, run, message) => {
    const name = `interleaved-${rand()}`;
    const id = await newVolume(name);
    const got = await run(name, id);
    if (message) {
      expect(got.code).toBe(status.ABORTED);
      expect(got.details).toMatch(message);
    } else {
      expect(got).toEqual({});
    }
    expect(JSON.parse((await redis.get(keys.record('vol', id))) ?? '{}')).toMatchObject({ state: 'deleting' });
    jest.restoreAllMocks();
    expect(await codeOf(h.client.ctl('DeleteVolume', { volumeId: id }))).toEqual({});
    expect(h.sim.disks().filter((d) => d.slot === id)).toEqual([]);
  });

  /**
   * A delete's own read and write: between DeleteVolume's (DeleteSnapshot's) read of the record and its write of
   * "deleting", the record is removed (another delete finished) or replaced by another generation (Redis lost it and
   * reconcile.state rebuilt it from RDS, or a CreateVolume of the same name claimed the id again). The write does not
   * apply; the delete answers ABORTED and leaves the record and disk it never read alone; the retry acts on the
   * record as it is then.
   */
  interface ReplacedRow {
    kind: 'vol' | 'snap';
    start(): Promise<{ id: string; del: () => Promise<unknown> }>;
    message: RegExp;
  }
  const replacedKinds: Array<[string, ReplacedRow]> = [
    [
      'DeleteVolume',
      {
        kind: 'vol',
        start: async () => {
          const id = await newVolume(`replaced-${rand()}`);
          return { id, del: () => h.client.ctl('DeleteVolume', { volumeId: id }) };
        },
        message: /volume "replaced-\w+" changed while it was being deleted .*; retry/,
      },
    ],
    [
      'DeleteSnapshot',
      {
        kind: 'snap',
        start: async () => {
          const vol = await newVolume(`replsrc-${rand()}`);
          const snap = await h.client.ctl('CreateSnapshot', { name: `replsnap-${rand()}`, sourceVolumeId: vol, parameters: {} }, 20_000);
          const id = snap.snapshot.snapshotId as string;
          return { id, del: () => h.client.ctl('DeleteSnapshot', { snapshotId: id }, 20_000) };
        },
        message: /snapshot "replsnap-\w+" changed while it was being deleted .*; retry/,
      },
    ],
  ];
  const replacedRows = replacedKinds.flatMap(([rpc, row]) => changes.map(([what, change]) => [`${rpc}, ${what}`, row, change] as const));

  test.each(replacedRows)('%s before its write of "deleting": ABORTED, nothing deleted; the retry is OK', async (_what, row, change) => {
    const { id, del } = await row.start();
    const key = keys.record(row.kind, id);
    const raw = (await redis.get(key)) ?? '';
    expect(JSON.parse(raw)).toMatchObject({ state: 'ready' });
    let changed: string | null = null;
    changeAfter('get', id, async () => {
      await change(key, raw);
      changed = await redis.get(key);
    });
    const got = await codeOf(del());
    expect(got.code).toBe(status.ABORTED);
    expect(got.details).toMatch(row.message);
    // The record as the change left it (not marked deleting, not removed) and its disk are still there.
    expect(await redis.get(key)).toBe(changed);
    expect(h.sim.disks().filter((d) => d.slot === id)).toHaveLength(1);
    jest.restoreAllMocks();
    expect(await codeOf(del())).toEqual({});
    expect(await redis.get(key)).toBeNull();
    expect(h.sim.disks().filter((d) => d.slot === id)).toEqual([]);
  });
});
