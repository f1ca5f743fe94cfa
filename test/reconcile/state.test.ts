import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/log/logger';
import { rebuildRecords, type StateScope, type StateSources } from '../../src/reconcile/state';
import type { SnapshotRecord } from '../../src/state/snapshot-record';
import { driverState } from '../../src/state/stores';
import type { VolumeRecord } from '../../src/state/volume-record';
import type { ProcessorContext } from '../../src/workers/context';
import { reconcileState } from '../../src/workers/processors/reconcile-state';
import { startHarness, type Harness } from '../rds/support';
import { startRedis, type TestRedis } from '../support/redis';

/**
 * rebuildRecords (reconcile.state's rules) in process, against the simulator over TCP and a private redis-server:
 * every field of a rebuilt record, what is never adopted (outside the base path, foreign slots, exported snapshot
 * slots), the "records exist → nothing" early exit for either kind, and two workers rebuilding at once (mutation
 * tier, issue 19 item 2; test/workers/reconcile-state.test.ts covers the same end to end through a worker start).
 */
const MiB = 1024 * 1024;
const BASE = '/pool/rds-csi';
const P = 'k1-';
const scope: StateScope = { basePath: BASE, volumePrefix: P, nqnPrefix: 'nqn.2000-01.test' };
const NOW = new Date('2026-01-02T03:04:05.000Z');
const PVC = `${P}pvc-11111111-2222-4333-8444-555555555555`;
const VOL = `${P}vol-made-from-a-name-0123456789ab`;
const SNAP = `${P}snap-a-snapshot-0123456789ab`;

describe('rebuildRecords (reconcile.state)', () => {
  let h: Harness;
  let redis: TestRedis;
  let conn: Redis;
  let n = 0;

  beforeAll(async () => {
    [h, redis] = await Promise.all([startHarness({ connectTimeoutMs: 10000, callTimeoutMs: 10000 }), startRedis()]); // generous: a loaded machine
    conn = new Redis(redis.url);
    // What a driver left on RDS: an exported pvc volume, an unexported (half-created) volume with a hashed name, a
    // snapshot; and what must never become a record: a volume slot outside the base path, another app's disk, a
    // snapshot-shaped slot that is exported (snapshots never are), an id of another prefix.
    const add = (slot: string, filePath: string, exported = false, size = 4 * MiB) =>
      h.rds.addDisk({ slot, filePath, fileSizeBytes: size, ...(exported ? { export: { port: 4420, nqn: `nqn.rds:${slot}` } } : {}) });
    await add(PVC, `${BASE}/${PVC}.img`, true, 6 * MiB);
    await add(VOL, `${BASE}/${VOL}.img`);
    await add(SNAP, `${BASE}/${SNAP}.img`, false, 2 * MiB);
    await add(`${P}vol-outside-0123456789ab`, `/pool/elsewhere/${P}vol-outside.img`);
    await add(`${P}pvc-99999999-2222-4333-8444-555555555555`, `/pool/rds-csi-b/${P}pvc-9.img`);
    await add('other-app-disk', `${BASE}/other-app-disk.img`);
    await add(`${P}snap-exported-0123456789ab`, `${BASE}/${P}snap-exported.img`, true);
    await add('vol-no-prefix-0123456789ab', `${BASE}/vol-no-prefix.img`);
  });
  afterAll(async () => {
    conn?.disconnect();
    await redis?.stop();
    await h?.stop();
  });

  const fresh = (): ReturnType<typeof driverState> => driverState(conn, `rs${++n}:`);
  const sources = (s: ReturnType<typeof driverState>): StateSources => ({ rds: h.rds, volumes: s.volumes, snapshots: s.snapshots });
  const all = async (s: ReturnType<typeof driverState>): Promise<{ vols: VolumeRecord[]; snaps: SnapshotRecord[] }> => ({
    vols: (await s.volumes.page(undefined, 100)).records,
    snaps: (await s.snapshots.page(undefined, 100)).records,
  });
  const GEN = expect.stringMatching(/^[0-9a-f]{8}$/);

  it('rebuilds every field of what is ours under the base path, and nothing else', async () => {
    const s = fresh();
    expect(await rebuildRecords(sources(s), scope, NOW)).toEqual({ volumes: 2, snapshots: 1 });
    const { vols, snaps } = await all(s);
    const common = { accessType: 'mount', paramsKey: '', context: {}, gen: GEN, createdAt: NOW.toISOString(), rebuilt: true };
    expect(vols).toEqual([
      {
        ...common,
        id: PVC,
        name: PVC.slice(P.length), // pvc-<uuid> ids carry their PV name
        capacityBytes: 6 * MiB,
        state: 'ready', // exported
        slot: PVC,
        filePath: `${BASE}/${PVC}.img`,
        nqn: `nqn.rds:${PVC}`, // the NQN the disk reports
      },
      {
        ...common,
        id: VOL,
        name: '', // hashed from a name that cannot be recovered
        capacityBytes: 4 * MiB,
        state: 'creating', // not exported yet
        slot: VOL,
        filePath: `${BASE}/${VOL}.img`,
        nqn: `nqn.2000-01.test:${VOL}`, // none reported: the configured prefix
      },
    ]);
    expect(snaps).toEqual([
      {
        id: SNAP,
        name: '',
        sourceVolumeId: '',
        sizeBytes: 2 * MiB,
        state: 'ready',
        gen: GEN,
        slot: SNAP,
        filePath: `${BASE}/${SNAP}.img`,
        createdAt: NOW.toISOString(),
      },
    ]);
    expect(vols[0].gen).not.toBe(vols[1].gen);
  });

  it.each(['volumes', 'snapshots'] as const)('does nothing while Redis holds any record (one of %s)', async (kind) => {
    const s = fresh();
    const rec = { id: `${P}vol-kept`, gen: 'g', slot: `${P}vol-kept`, filePath: `${BASE}/${P}vol-kept.img`, createdAt: '' };
    if (kind === 'volumes')
      await s.volumes.claim({ ...rec, name: 'kept', capacityBytes: MiB, accessType: 'mount', paramsKey: '', context: {}, state: 'ready', nqn: 'q' });
    else await s.snapshots.claim({ ...rec, name: 'kept', sourceVolumeId: '', sizeBytes: MiB, state: 'ready' });
    expect(await rebuildRecords(sources(s), scope, NOW)).toBeUndefined();
    const { vols, snaps } = await all(s);
    expect([...vols, ...snaps].map((r) => r.id)).toEqual([rec.id]);
  });

  // The reconcile.state job around it (reconcilers group, round 7d): its metric and its warning, per backend.
  it('the reconcile.state job counts what it rebuilt in its metric and warns once, naming an extra backend', async () => {
    const seen: Array<[string, number]> = [];
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const job = (st: ReturnType<typeof fresh>, backend?: string) =>
      reconcileState({ volumeId: '' }, {
        rds: h.rds,
        basePath: BASE,
        volumePrefix: P,
        nqnPrefix: scope.nqnPrefix,
        backend,
        records: { volumes: st.volumes, snapshots: st.snapshots },
        metrics: { reconcile: (what: string, n: number) => void seen.push([what, n]) },
        log: createLogger('debug', 'state-test', sink),
      } as unknown as ProcessorContext<'reconcile.state'>);
    const pick = () => lines.map(({ level, msg, volumes, snapshots, backend }) => ({ level, msg, volumes, snapshots, backend }));
    const warned = { level: 40, msg: 'Redis held no records: rebuilt them from RDS', volumes: 2, snapshots: 1 };
    const s = fresh();
    expect(await job(s)).toEqual({ volumes: 2, snapshots: 1 });
    expect(seen).toEqual([['records-rebuilt', 3]]);
    expect(pick()).toEqual([{ ...warned, backend: undefined }]);
    // Records exist now: nothing rebuilt, no metric, no warning.
    expect(await job(s)).toEqual({ volumes: 0, snapshots: 0 });
    expect([seen.length, lines.length]).toEqual([1, 1]);
    expect(await job(fresh(), 'b2')).toEqual({ volumes: 2, snapshots: 1 });
    expect(seen).toEqual([
      ['records-rebuilt', 3],
      ['records-rebuilt', 3],
    ]);
    expect(pick()).toEqual([
      { ...warned, backend: undefined },
      { ...warned, backend: 'b2' },
    ]);
  });

  it('two workers rebuilding at once count each record once', async () => {
    const s = fresh();
    // Both have seen an empty Redis before either lists RDS (the listing waits for the other): every claim is then
    // raced, and each record must be counted by the one worker that won it.
    let arrived = 0;
    let release!: () => void;
    const both = new Promise<void>((r) => (release = r));
    const racing: StateSources['rds'] = {
      listDisks: async (prefix) => {
        if (++arrived === 2) release();
        await both;
        return h.rds.listDisks(prefix);
      },
    };
    // A run that ends without listing (it saw a record) lets the other go on: the test fails instead of hanging.
    const run = (): ReturnType<typeof rebuildRecords> => rebuildRecords({ ...sources(s), rds: racing }, scope, NOW).finally(release);
    const [a, b] = await Promise.all([run(), run()]);
    expect([a!.volumes + b!.volumes, a!.snapshots + b!.snapshots]).toEqual([2, 1]);
    const { vols, snaps } = await all(s);
    expect([vols.length, snaps.length]).toEqual([2, 1]);
  });
});
