import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { encodeOwner } from '../../src/domain/ownership';
import { createLogger } from '../../src/log/logger';
import { driverState, type DriverState } from '../../src/state/stores';
import type { ProcessorContext } from '../../src/workers/context';
import { reconcileOrphans } from '../../src/workers/processors/reconcile-orphans';
import { startHarness, type Harness } from '../rds/support';
import { startRedis, type TestRedis } from '../support/redis';

/**
 * The reconcile.orphans job in process (reconcilers group, issue 19 item 2, rounds 7d and 7e), against the simulator
 * over TCP and a private redis-server. The delete policy (lines 52-76 of reconcile-orphans.ts): the grace period is
 * inclusive (an orphan whose age equals it is due), a deletion is logged and counted, and a run with nothing due never
 * asks deleteOrphans (whose empty-Redis guard would otherwise report a refusal for a run that had nothing to delete).
 * What it reports (lines 1-51): the warning's fields, the OrphansFound event word for word (backend, five names then an
 * ellipsis, the deletion delay), the seen counts, nothing at all when nothing is found, and the sightings each backend
 * keeps and forgets (`@<backend>:` keys). An orphan file is a backing file a `/disk remove` left.
 */
const MiB = 1024 * 1024;
const BASE = '/pool/rds-csi';
const OWNER = { driver: 'rds.csi.mikrotik.com', cluster: 'c1' };

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

  function run(state: DriverState, graceMs: number, opts: { backend?: string; delete?: boolean } = {}) {
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
      orphans: { slotPrefix: 'pvc-', owner: OWNER, delete: opts.delete ?? true, graceMs, sightings: state.sightings },
      events: { emitDriver: (type: string, reason: string, message: string) => Promise.resolve(void events.push(`${type} ${reason}`, message)) },
      ...(opts.backend === undefined ? {} : { backend: opts.backend }),
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

  /** The warning's fields (level 40, 'orphans on RDS'), as logged. */
  const warned = (lines: Array<Record<string, unknown>>) =>
    lines
      .filter((l) => /^orphans on RDS/.test(l.msg as string))
      .map(({ level, msg, disks, files, deleteEnabled, backend }) => ({ level, msg, disks, files, deleteEnabled, backend }));
  const WARNING = 'orphans on RDS: nothing the driver knows uses them (rds-csi orphans list)';

  it('reports what it found: one warning naming each disk and file, the event in full (five names, no ellipsis), the seen counts', async () => {
    const slot = `pvc-pvc-00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`; // slot prefix + a PVC name
    const disk = await h.rds.addDisk({ slot, filePath: `${BASE}/${slot}.img`, fileSizeBytes: MiB, comment: encodeOwner(OWNER) });
    const files = [await leftFile(), await leftFile(), await leftFile(), await leftFile()];
    const r = run(await withRecord('ro3:'), 3600_000, { delete: false });
    expect(await r.result).toEqual({ disks: 1, files: 4, deleted: 0 });
    const [line] = warned(r.lines);
    expect(line).toEqual({ level: 40, msg: WARNING, disks: [slot], files: expect.arrayContaining(files), deleteEnabled: false, backend: undefined });
    expect(line.files).toHaveLength(4);
    expect(warned(r.lines)).toHaveLength(1);
    expect(r.events).toEqual([
      'Warning OrphansFound',
      `1 disk(s) and 4 backing file(s) under ${BASE} that no volume or snapshot uses: ${[slot, ...(line.files as string[])].join(', ')}; see rds-csi orphans list`,
    ]);
    expect(r.metrics).toEqual([
      ['orphan-disks-seen', 1],
      ['orphan-files-seen', 4],
    ]);
    await h.rds.removeDisk(disk.id);
    for (const f of [...files, `${BASE}/${slot}.img`]) await h.rds.removeFileAt(f);
  });

  it('on an extra backend: the event names the backend and the deletion delay, lists five names and an ellipsis; each backend keeps and forgets only its own sightings', async () => {
    const files: string[] = [];
    for (let i = 0; i < 6; i++) files.push(await leftFile());
    const state = await withRecord('ro4:');
    const b = run(state, 2 * 3600_000, { backend: 'b' });
    expect(await b.result).toEqual({ disks: 0, files: 6, deleted: 0 });
    const [line] = warned(b.lines);
    expect(line).toEqual({ level: 40, msg: WARNING, disks: [], files: expect.arrayContaining(files), deleteEnabled: true, backend: 'b' });
    expect(b.events).toEqual([
      'Warning OrphansFound',
      `0 disk(s) and 6 backing file(s) under ${BASE} on backend b that no volume or snapshot uses: ` +
        `${(line.files as string[]).slice(0, 5).join(', ')}, …; see rds-csi orphans list; they are deleted 2h after first sighting`,
    ]);
    // The primary sees the same files under the same base path: both backends' sightings are kept side by side.
    expect(await run(state, 2 * 3600_000, { delete: false }).result).toMatchObject({ files: 6 });
    const keys = Object.keys(await state.sightings.all()).sort();
    expect(keys).toEqual([...files.map((f) => `@b:file:${f}`), ...files.map((f) => `file:${f}`)].sort());
    // Gone from RDS: b's next run forgets b's sightings only.
    for (const f of files) await h.rds.removeFileAt(f);
    expect(await run(state, 2 * 3600_000, { backend: 'b' }).result).toEqual({ disks: 0, files: 0, deleted: 0 });
    expect(Object.keys(await state.sightings.all()).sort()).toEqual(files.map((f) => `file:${f}`).sort());
  });

  it('with nothing found: no warning, no event, the seen counts are 0', async () => {
    const r = run(await withRecord('ro5:'), 0);
    expect(await r.result).toEqual({ disks: 0, files: 0, deleted: 0 });
    expect(r.events).toEqual([]);
    expect(r.lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    expect(r.metrics).toEqual([
      ['orphan-disks-seen', 0],
      ['orphan-files-seen', 0],
    ]);
  });

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
    expect(r.events[0]).toBe('Warning OrphansFound');
    expect(r.lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
    await h.rds.removeFileAt(file);
  });
});
