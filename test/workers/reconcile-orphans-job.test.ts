import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/log/logger';
import { driverState, type DriverState } from '../../src/state/stores';
import type { ProcessorContext } from '../../src/workers/context';
import { reconcileOrphans } from '../../src/workers/processors/reconcile-orphans';
import { startHarness, type Harness } from '../rds/support';
import { startRedis, type TestRedis } from '../support/redis';

/**
 * The reconcile.orphans job in process (reconcilers group, issue 19 item 2, round 7d), against the simulator over TCP
 * and a private redis-server: the grace period is inclusive (an orphan whose age equals it is due), a deletion is
 * logged and counted, and a run with nothing due never asks deleteOrphans (whose empty-Redis guard would otherwise
 * report a refusal for a run that had nothing to delete). The orphan is a backing file a `/disk remove` left.
 */
const MiB = 1024 * 1024;
const BASE = '/pool/rds-csi';

describe('reconcile.orphans job', () => {
  let h: Harness;
  let redis: TestRedis;
  let conn: Redis;
  let n = 0;

  beforeAll(async () => {
    [h, redis] = await Promise.all([startHarness({ connectTimeoutMs: 10000, callTimeoutMs: 10000 }), startRedis()]);
    conn = new Redis(redis.url);
  });
  afterAll(async () => {
    conn?.disconnect();
    await redis?.stop();
    await h?.stop();
  });

  async function leftFile(): Promise<string> {
    const slot = `pvc-00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
    const d = await h.rds.addDisk({ slot, filePath: `${BASE}/${slot}.img`, fileSizeBytes: MiB });
    await h.rds.removeDisk(d.id); // the file stays
    return `${BASE}/${slot}.img`;
  }

  function run(state: DriverState, graceMs: number) {
    const metrics: Array<[string, number]> = [];
    const events: string[] = [];
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const ctx = {
      rds: h.rds,
      basePath: BASE,
      volumePrefix: 'pvc-',
      log: createLogger('debug', 'orphans-job-test', sink),
      records: { volumes: state.volumes, snapshots: state.snapshots },
      orphans: { slotPrefix: 'pvc-', owner: { driver: 'rds.csi.mikrotik.com', cluster: 'c1' }, delete: true, graceMs, sightings: state.sightings },
      events: { emitDriver: (type: string, reason: string) => Promise.resolve(void events.push(`${type} ${reason}`)) },
      metrics: { reconcile: (what: string, count: number) => void metrics.push([what, count]) },
    } as unknown as ProcessorContext<'reconcile.orphans'>;
    return { result: reconcileOrphans({ volumeId: '' }, ctx), metrics, events, lines };
  }

  async function withRecord(prefix: string): Promise<DriverState> {
    const state = driverState(conn, prefix);
    const id = 'pvc-kept';
    await state.volumes.claim({
      id,
      name: id,
      capacityBytes: MiB,
      accessType: 'mount',
      paramsKey: '',
      context: {},
      state: 'ready',
      gen: 'g',
      slot: id,
      filePath: `${BASE}/${id}.img`,
      nqn: `nqn.test:${id}`,
      createdAt: new Date(0).toISOString(),
    });
    return state;
  }

  it('with a grace period of 0 an orphan is due at its first sighting; the deletion is logged and counted', async () => {
    const file = await leftFile();
    const r = run(await withRecord('ro1:'), 0);
    expect(await r.result).toEqual({ disks: 0, files: 1, deleted: 1 });
    expect(await h.rds.getFile(file)).toBeUndefined();
    expect(r.metrics).toContainEqual(['orphans-deleted', 1]);
    expect(r.lines.filter((l) => l.msg === 'orphan cleanup').map(({ level, kind, path, result }) => ({ level, kind, path, result }))).toEqual([
      { level: 40, kind: 'file', path: file, result: 'deleted' },
    ]);
  });

  it('with nothing due and Redis holding no record, nothing is deleted and no refusal is reported', async () => {
    const file = await leftFile();
    const r = run(driverState(conn, 'ro2:'), 3600_000);
    expect(await r.result).toEqual({ disks: 0, files: 1, deleted: 0 });
    expect(await h.rds.getFile(file)).toBeDefined();
    expect(r.events).toEqual(['Warning OrphansFound']);
    expect(r.lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
    await h.rds.removeFileAt(file);
  });
});
