import { Redis } from 'ioredis';
import { DriverKeys } from '../../src/state/keys';
import { RecordNotReplicatedError } from '../../src/state/redis-record-store';
import { driverState } from '../../src/state/stores';
import type { VolumeRecord } from '../../src/state/volume-record';
import { startRedis, type TestRedis } from '../support/redis';
import { waitFor } from '../support/wait';

/**
 * The Lua record stores against a real redis-server, no driver process: the generation checks that keep two
 * controllers (or a controller and a reconciler) from overwriting each other, the index that List* pages through,
 * and the WAIT-for-replicas path (issue 13 item 9).
 */
describe('RedisRecordStore', () => {
  let server: TestRedis;
  let redis: Redis;
  let n = 0;
  /** A fresh prefix per test: no test sees another's records. */
  const fresh = (): { prefix: string; volumes: ReturnType<typeof driverState>['volumes'] } => {
    const prefix = `rs${++n}`;
    return { prefix, volumes: driverState(redis, prefix).volumes };
  };
  const vol = (id: string, gen: string, extra: Partial<VolumeRecord> = {}): VolumeRecord => ({
    id,
    name: `name-${id}`,
    capacityBytes: 1024,
    accessType: 'mount',
    paramsKey: '',
    context: {},
    state: 'creating',
    gen,
    slot: id,
    filePath: `/pool/${id}.img`,
    nqn: `nqn.test:${id}`,
    createdAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  });

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('claim stores a new record under its key and in the index; a second claim gets the stored one back', async () => {
    const { prefix, volumes } = fresh();
    const first = await volumes.claim(vol('v1', 'g1'));
    expect(first).toEqual({ created: true, record: vol('v1', 'g1') });
    const keys = new DriverKeys(prefix);
    expect(JSON.parse((await redis.get(keys.record('vol', 'v1')))!)).toEqual(vol('v1', 'g1'));
    expect(await redis.zrange(keys.recordIndex('vol'), 0, -1)).toEqual(['v1']);

    const second = await volumes.claim(vol('v1', 'g2', { capacityBytes: 2048 }));
    expect(second).toEqual({ created: false, record: vol('v1', 'g1') });
    expect(await volumes.get('v1')).toEqual(vol('v1', 'g1'));
  });

  it('of many concurrent claims of one id exactly one wins, and all see the winner', async () => {
    const { volumes } = fresh();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => volumes.claim(vol('race', `g${i}`))));
    const winners = results.filter((r) => r.created);
    expect(winners).toHaveLength(1);
    for (const r of results) expect(r.record).toEqual(winners[0].record);
    expect(await volumes.count()).toBe(1);
  });

  it.each<[string, string, VolumeRecord['state'] | undefined, boolean, string]>([
    ['the same generation', 'g1', undefined, true, 'ready'],
    ['a stale generation', 'g0', undefined, false, 'creating'],
    ['the same generation from the state it is in', 'g1', 'creating', true, 'ready'],
    ['the same generation from another state (a delete marked it meanwhile)', 'g1', 'ready', false, 'creating'],
    ['a stale generation from the state it is in', 'g0', 'creating', false, 'creating'],
  ])('update with %s (%s, from %s) is applied: %s', async (_what, gen, from, applied, stateAfter) => {
    const { volumes } = fresh();
    await volumes.claim(vol('v1', 'g1'));
    expect(await volumes.update(vol('v1', gen, { state: 'ready' }), from)).toBe(applied);
    expect((await volumes.get('v1'))?.state).toBe(stateAfter);
  });

  it('update of a record that is gone does not bring it back', async () => {
    const { volumes } = fresh();
    expect(await volumes.update(vol('ghost', 'g1', { state: 'ready' }))).toBe(false);
    expect(await volumes.get('ghost')).toBeUndefined();
    expect(await volumes.count()).toBe(0);
  });

  it("remove needs the record's generation; it takes the record out of the index too", async () => {
    const { volumes } = fresh();
    await volumes.claim(vol('v1', 'g1'));
    expect(await volumes.remove('v1', 'g0')).toBe(false);
    expect(await volumes.get('v1')).toBeDefined();
    expect(await volumes.remove('v1', 'g1')).toBe(true);
    expect(await volumes.get('v1')).toBeUndefined();
    expect(await volumes.count()).toBe(0);
    expect(await volumes.remove('v1', 'g1')).toBe(false);
  });

  it('a delete racing an update: whichever runs second finds nothing to do, and nothing is resurrected', async () => {
    const { volumes } = fresh();
    for (let i = 0; i < 10; i++) {
      const id = `r${i}`;
      await volumes.claim(vol(id, 'g1'));
      const [updated, removed] = await Promise.all([volumes.update(vol(id, 'g1', { state: 'deleting' })), volumes.remove(id, 'g1')]);
      expect(removed).toBe(true);
      expect(typeof updated).toBe('boolean');
      expect(await volumes.get(id)).toBeUndefined();
    }
    expect(await volumes.count()).toBe(0);
  });

  it('a claim after a remove starts a new incarnation under the same id', async () => {
    const { volumes } = fresh();
    await volumes.claim(vol('v1', 'g1'));
    await volumes.remove('v1', 'g1');
    expect(await volumes.claim(vol('v1', 'g2'))).toEqual({ created: true, record: vol('v1', 'g2') });
  });

  it('pages in id order and says where to continue', async () => {
    const { volumes } = fresh();
    for (const id of ['c', 'a', 'e', 'b', 'd']) await volumes.claim(vol(id, 'g'));
    const first = await volumes.page(undefined, 2);
    expect(first.records.map((r) => r.id)).toEqual(['a', 'b']);
    expect(first.next).toBe('b');
    const second = await volumes.page(first.next, 2);
    expect(second.records.map((r) => r.id)).toEqual(['c', 'd']);
    const last = await volumes.page(second.next, 2);
    expect(last).toEqual({ records: [vol('e', 'g')], next: undefined });
    expect(await volumes.page('e', 2)).toEqual({ records: [] });
  });

  it('volumes and snapshots of one prefix, and two prefixes, never see each other', async () => {
    const { prefix, volumes } = fresh();
    const { snapshots } = driverState(redis, prefix);
    await volumes.claim(vol('same-id', 'g1'));
    expect(await snapshots.get('same-id')).toBeUndefined();
    expect(await snapshots.count()).toBe(0);
    expect(await fresh().volumes.get('same-id')).toBeUndefined();
  });

  describe('WAIT for replicas (redis.waitReplicas)', () => {
    it('without enough replicas the write is made but reported as not replicated', async () => {
      const prefix = `rs${++n}`;
      const volumes = driverState(redis, prefix, { replicas: 1, timeoutMs: 50 }).volumes;
      await expect(volumes.claim(vol('v1', 'g1'))).rejects.toThrow(RecordNotReplicatedError);
      await expect(volumes.claim(vol('v1', 'g1'))).rejects.toThrow(/confirmed by 0 of 1 Redis replicas within 50 ms/);
      expect(await volumes.get('v1')).toEqual(vol('v1', 'g1'));
      await expect(volumes.update(vol('v1', 'g1', { state: 'ready' }))).rejects.toThrow(RecordNotReplicatedError);
      await expect(volumes.remove('v1', 'g1')).rejects.toThrow(RecordNotReplicatedError);
    });

    it('a record write and its WAIT go to Redis in one round trip (one socket write), for claim, update and remove', async () => {
      const own = new Redis(server.url);
      try {
        await own.ping();
        const volumes = driverState(own, `rs${++n}`, { replicas: 1, timeoutMs: 20 }).volumes;
        const writes = jest.spyOn(own.stream, 'write');
        const ops: Array<[string, () => Promise<unknown>]> = [
          ['claim', () => volumes.claim(vol('v1', 'g1'))],
          ['update', () => volumes.update(vol('v1', 'g1', { state: 'ready' }))],
          ['remove', () => volumes.remove('v1', 'g1')],
        ];
        for (const [what, op] of ops) {
          writes.mockClear();
          await expect(op()).rejects.toThrow(RecordNotReplicatedError);
          expect([what, writes.mock.calls.length]).toEqual([what, 1]);
        }
        expect(await own.exists(new DriverKeys(`rs${n}`).record('vol', 'v1'))).toBe(0); // the remove was made
      } finally {
        own.disconnect();
      }
    });

    it('with a replica that confirms, writes succeed and the replica holds them', async () => {
      const replicaServer = await startRedis();
      const replica = new Redis(replicaServer.url);
      try {
        await redis.config('SET', 'repl-diskless-sync-delay', '0'); // start the full sync now, not after 5 s
        await replica.call('REPLICAOF', '127.0.0.1', String(server.port));
        await waitFor(async () => /master_link_status:up/.test(await replica.info('replication')), 15000, 'the replica to sync');
        const prefix = `rs${++n}`;
        const volumes = driverState(redis, prefix, { replicas: 1, timeoutMs: 5000 }).volumes;
        expect((await volumes.claim(vol('v1', 'g1'))).created).toBe(true);
        expect(await volumes.update(vol('v1', 'g1', { state: 'ready' }))).toBe(true);
        expect(JSON.parse((await replica.get(new DriverKeys(prefix).record('vol', 'v1')))!)).toMatchObject({ state: 'ready' });
      } finally {
        replica.disconnect();
        await replicaServer.stop();
      }
    });
  });
});
