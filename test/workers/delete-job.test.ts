import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { Failure } from '../../src/domain/failure';
import { createLogger } from '../../src/log/logger';
import { NO_RECORD_GEN, type DiskDeleteData } from '../../src/queue/jobs';
import { driverState, type DriverState } from '../../src/state/stores';
import type { VolumeRecord } from '../../src/state/volume-record';
import { memorySteps, type ProcessorContext } from '../../src/workers/context';
import { diskDelete, snapshotDelete } from '../../src/workers/processors/disk-delete';
import { diskExpand } from '../../src/workers/processors/disk-expand';
import { migrationTimeout } from '../../src/workers/processors/migration-timeout';
import { startHarness, type Harness } from '../rds/support';
import { startRedis, type TestRedis } from '../support/redis';

/**
 * disk.delete / snapshot.delete / disk.expand run as a worker runs them, against the simulator over TCP and a
 * private redis-server holding the records: every refusal of the delete proof (delete-guard.ts) with its exact
 * message and nothing removed, and every path of the delete itself (mutation tier, issue 19 item 2).
 */
const MiB = 1024 * 1024;
const BASE = '/pool/rds-csi';
const file = (id: string): string => `${BASE}/${id}.img`;

describe('disk.delete / snapshot.delete / disk.expand / migration.timeout processors', () => {
  let h: Harness;
  let redis: TestRedis;
  let conn: Redis;
  let state: DriverState;
  let n = 0;
  const fresh = (): string => `pvc-dj-${++n}`;

  beforeAll(async () => {
    [h, redis] = await Promise.all([startHarness(), startRedis()]);
    conn = new Redis(redis.url);
    state = driverState(conn, 'dj:');
  });
  afterAll(async () => {
    conn?.disconnect();
    await redis?.stop();
    await h?.stop();
  });

  function ctx(): ProcessorContext<'disk.delete'> {
    return {
      rds: h.rds,
      basePath: BASE,
      volumePrefix: 'pvc-',
      steps: memorySteps(),
      log: createLogger('silent'),
      records: { volumes: state.volumes, snapshots: state.snapshots },
      attachments: state.attachments,
    };
  }
  async function disk(slot: string, path = file(slot)): Promise<void> {
    await h.rds.addDisk({ slot, filePath: path, fileSizeBytes: 4 * MiB });
  }
  const onRds = async (slot: string, path = file(slot)): Promise<[boolean, boolean]> => [
    (await h.rds.getDisk(slot)) !== undefined,
    (await h.rds.getFile(path)) !== undefined,
  ];
  async function record(id: string, over: Partial<VolumeRecord> = {}): Promise<VolumeRecord> {
    const rec: VolumeRecord = {
      id,
      name: `name-${id}`,
      capacityBytes: 4 * MiB,
      accessType: 'mount',
      paramsKey: '',
      context: {},
      state: 'deleting',
      gen: `gen-${id}`,
      slot: id,
      filePath: file(id),
      nqn: `nqn.test:${id}`,
      createdAt: new Date(0).toISOString(),
      ...over,
    };
    await state.volumes.claim(rec);
    return rec;
  }
  async function outcome(p: Promise<unknown>): Promise<string> {
    try {
      return `ok ${JSON.stringify(await p)}`;
    } catch (e) {
      return e instanceof Failure ? `${e.kind}: ${e.message}` : `other: ${String(e)}`;
    }
  }

  it('refuses every job its record (or the lack of one) does not prove, with the exact reason; nothing is removed', async () => {
    const id = fresh();
    const other = fresh();
    const attachedVol = fresh();
    const attachedSlot = fresh();
    const withRecord = fresh();
    await disk(id);
    await record(withRecord);
    await disk(withRecord);
    await record(other, { state: 'ready' });
    await state.attachments.put({
      volumeId: attachedVol,
      nodes: { n1: { readonly: false, attachedAt: '', publishContext: {} }, n2: { readonly: false, attachedAt: '', publishContext: {} } },
    });
    await disk(attachedVol);
    await record(attachedSlot, { slot: `${attachedSlot}-s` });
    await state.attachments.put({ volumeId: `${attachedSlot}-s`, nodes: { n3: { readonly: false, attachedAt: '', publishContext: {} } } });
    const r = (vol: string, slot: string, why: string): string =>
      `precondition: refusing to delete volume ${vol} (slot ${slot}): ${why}; nothing was deleted`;
    const g = `gen-${withRecord}`;
    const rows: [string, Record<string, unknown>, string][] = [
      ['empty volume id', { volumeId: '', slot: id, gen: NO_RECORD_GEN }, r('', id, 'the job names no volume or slot')],
      ['empty slot', { volumeId: id, slot: '', gen: NO_RECORD_GEN }, r(id, '', 'the job names no volume or slot')],
      ['volume id not a string', { volumeId: 7, slot: id, gen: NO_RECORD_GEN }, r('7', id, 'the job names no volume or slot')],
      ['slot not a string', { volumeId: id, slot: 7, gen: NO_RECORD_GEN }, r(id, '7', 'the job names no volume or slot')],
      ['empty generation', { volumeId: id, slot: id, gen: '' }, r(id, id, 'the job carries no generation: it was not enqueued by the driver')],
      ['generation not a string', { volumeId: id, slot: id, gen: 1 }, r(id, id, 'the job carries no generation: it was not enqueued by the driver')],
      ['a generation without a record', { volumeId: id, slot: id, gen: 'g1' }, r(id, id, 'its generation g1 is stale: there is no record')],
      [
        'no record, another slot',
        { volumeId: id, slot: withRecord, gen: NO_RECORD_GEN },
        r(id, withRecord, "without a record only the id's own slot may be deleted"),
      ],
      [
        'no record, another file',
        { volumeId: id, slot: id, filePath: file(withRecord), gen: NO_RECORD_GEN },
        r(id, id, "without a record only the id's own backing file may be deleted"),
      ],
      [
        'record, other generation',
        { volumeId: withRecord, slot: withRecord, gen: 'g2' },
        r(withRecord, withRecord, `its generation g2 is not the record's (${g})`),
      ],
      ['record not deleting', { volumeId: other, slot: other, gen: `gen-${other}` }, r(other, other, "the record is 'ready', not 'deleting'")],
      [
        'record, another slot',
        { volumeId: withRecord, slot: id, gen: g },
        r(withRecord, id, `the job's slot or file is not the record's (${withRecord}, ${file(withRecord)})`),
      ],
      [
        'record, another file',
        { volumeId: withRecord, slot: withRecord, filePath: file(id), gen: g },
        r(withRecord, withRecord, `the job's slot or file is not the record's (${withRecord}, ${file(withRecord)})`),
      ],
      [
        'attached to two nodes',
        { volumeId: attachedVol, slot: attachedVol, gen: NO_RECORD_GEN },
        r(attachedVol, attachedVol, 'it is attached to n1, n2'),
      ],
      [
        'its slot is attached',
        { volumeId: attachedSlot, slot: `${attachedSlot}-s`, gen: `gen-${attachedSlot}` },
        r(attachedSlot, `${attachedSlot}-s`, 'it is attached to n3'),
      ],
    ];
    for (const [what, data, want] of rows) {
      expect([what, await outcome(diskDelete(data as unknown as DiskDeleteData, ctx()))]).toEqual([what, want]);
    }
    expect([await onRds(id), await onRds(withRecord), await onRds(attachedVol)]).toEqual([
      [true, true],
      [true, true],
      [true, true],
    ]);
  });

  it("refuses a slot that is another record's: a volume's slot named by a snapshot job, another volume's by a record", async () => {
    const vol = fresh();
    const victim = fresh();
    await record(vol, { slot: victim, filePath: file(victim) });
    await record(victim, { state: 'ready' });
    await disk(victim);
    expect(await outcome(diskDelete({ volumeId: vol, slot: victim, gen: `gen-${vol}` }, ctx()))).toBe(
      `precondition: refusing to delete volume ${vol} (slot ${victim}): slot ${victim} belongs to the record of ${victim}; nothing was deleted`,
    );
    expect(await outcome(snapshotDelete({ volumeId: victim, slot: victim, gen: NO_RECORD_GEN }, ctx()))).toBe(
      `precondition: refusing to delete snapshot ${victim} (slot ${victim}): slot ${victim} belongs to the record of ${victim}; nothing was deleted`,
    );
    expect(await onRds(victim)).toEqual([true, true]);
  });

  it('an attachment record with no node left does not block the delete', async () => {
    const id = fresh();
    await disk(id);
    await state.attachments.put({ volumeId: id, nodes: {} });
    expect(await outcome(diskDelete({ volumeId: id, slot: id, gen: NO_RECORD_GEN }, ctx()))).toBe('ok {"removedDisk":true,"removedFile":true}');
    expect(await onRds(id)).toEqual([false, false]);
  });

  it('deletes what is there: disk and file, the file alone, nothing; the disk file without a path in the job', async () => {
    const both = fresh();
    const fileOnly = fresh();
    const none = fresh();
    const noPath = fresh();
    await disk(both);
    await disk(fileOnly);
    await h.rds.removeDisk((await h.rds.getDisk(fileOnly))!.id);
    await disk(noPath);
    const rows: [string, DiskDeleteData, string][] = [
      ['disk and file', { volumeId: both, slot: both, filePath: file(both), gen: NO_RECORD_GEN }, 'ok {"removedDisk":true,"removedFile":true}'],
      [
        'file alone (a retry)',
        { volumeId: fileOnly, slot: fileOnly, filePath: file(fileOnly), gen: NO_RECORD_GEN },
        'ok {"removedDisk":false,"removedFile":true}',
      ],
      ['nothing', { volumeId: none, slot: none, filePath: file(none), gen: NO_RECORD_GEN }, 'ok {"removedDisk":false,"removedFile":false}'],
      ['no path: the disk own file', { volumeId: noPath, slot: noPath, gen: NO_RECORD_GEN }, 'ok {"removedDisk":true,"removedFile":true}'],
    ];
    for (const [what, data, want] of rows) expect([what, await outcome(diskDelete(data, ctx()))]).toEqual([what, want]);
    for (const id of [both, fileOnly, noPath]) expect([id, await onRds(id)]).toEqual([id, [false, false]]);
  });

  it('never touches a file outside the base path: named in the job, or the disk of the slot uses one', async () => {
    const named = fresh();
    const foreignFile = fresh();
    const outside = `/pool/elsewhere/${foreignFile}.img`;
    await disk(foreignFile, outside);
    await record(named, { filePath: '/pool/elsewhere/x.img' });
    expect(await outcome(diskDelete({ volumeId: named, slot: named, filePath: '/pool/elsewhere/x.img', gen: `gen-${named}` }, ctx()))).toBe(
      `invalid: refusing to delete /pool/elsewhere/x.img: not under the base path ${BASE}`,
    );
    expect(await outcome(diskDelete({ volumeId: foreignFile, slot: foreignFile, gen: NO_RECORD_GEN }, ctx()))).toBe(
      `precondition: disk ${foreignFile} uses ${outside}, not a file under ${BASE}; refusing to delete a disk the driver did not create`,
    );
    expect(await onRds(foreignFile, outside)).toEqual([true, true]);
  });

  it('refuses a disk whose file is not the one the job names', async () => {
    const id = fresh();
    const elsewhere = `${BASE}/${id}-other.img`;
    await disk(id, elsewhere);
    await record(id, { filePath: file(id) });
    expect(await outcome(diskDelete({ volumeId: id, slot: id, filePath: file(id), gen: `gen-${id}` }, ctx()))).toBe(
      `precondition: disk ${id} uses ${elsewhere}, not ${file(id)}; refusing to delete a disk the driver did not create`,
    );
    expect(await onRds(id, elsewhere)).toEqual([true, true]);
  });

  it('disk.expand grows, never shrinks, and names a missing disk', async () => {
    const id = fresh();
    await disk(id);
    const run = (sizeBytes: number, slot = id): Promise<string> => outcome(diskExpand({ volumeId: slot, slot, sizeBytes }, ctx()));
    expect(await run(2 * MiB)).toBe(`ok {"sizeBytes":${4 * MiB}}`);
    // Already that size: one look, no /disk set.
    const before = h.sim.stats()['/disk/set'] ?? 0;
    expect(await run(4 * MiB)).toBe(`ok {"sizeBytes":${4 * MiB}}`);
    expect((h.sim.stats()['/disk/set'] ?? 0) - before).toBe(0);
    expect(await run(6 * MiB)).toBe(`ok {"sizeBytes":${6 * MiB}}`);
    expect((await h.rds.getDisk(id))!.fileSizeBytes).toBe(6 * MiB);
    expect(await run(8 * MiB, 'pvc-dj-missing')).toBe('not-found: disk pvc-dj-missing does not exist on RDS');
  });
  it('disk.expand logs the growth (slot, from, to) once, and nothing when the disk is already large enough', async () => {
    const id = fresh();
    await disk(id);
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const c = { ...ctx(), log: createLogger('debug', 'delete-job-test', sink) } as unknown as ProcessorContext<'disk.expand'>;
    await diskExpand({ volumeId: id, slot: id, sizeBytes: 4 * MiB }, c);
    expect(lines).toEqual([]);
    await diskExpand({ volumeId: id, slot: id, sizeBytes: 6 * MiB }, c);
    expect(lines.map(({ level, msg, slot, from, to }) => ({ level, msg, slot, from, to }))).toEqual([
      { level: 30, msg: 'disk grown', slot: id, from: 4 * MiB, to: 6 * MiB },
    ]);
  });
  it('disk.expand names a disk removed on RDS between its resize and the look-up after it', async () => {
    const id = fresh();
    await disk(id);
    // Someone else (an operator, a second worker after a lost lease) removes the disk right after the resize lands:
    // both calls go to the simulator over TCP; only their order is forced.
    const rds = h.rds;
    const racing = Object.create(rds) as typeof rds;
    racing.resizeDisk = async (diskId, bytes) => {
      await rds.resizeDisk(diskId, bytes);
      await rds.removeDisk(diskId);
    };
    const c = { ...ctx(), rds: racing } as unknown as ProcessorContext<'disk.expand'>;
    expect(await outcome(diskExpand({ volumeId: id, slot: id, sizeBytes: 6 * MiB }, c))).toBe(`not-found: disk ${id} vanished while growing it`);
    expect(await onRds(id)).toEqual([false, true]);
  });
  it('migration.timeout fails only the migration it names, once, while both nodes are attached', async () => {
    const seen: string[] = [];
    const fencing = {
      attachments: state.attachments,
      metrics: { migrationEnded: (outcome: string, seconds: number) => seen.push(`metric ${outcome} ${seconds >= 5 && seconds < 60}`) },
      events: {
        emit: (_pvc: unknown, type: string, reason: string, message: string) => Promise.resolve(void seen.push(`${type} ${reason}: ${message}`)),
      },
    };
    const c = { ...ctx(), fencing } as unknown as ProcessorContext<'migration.timeout'>;
    const node = { readonly: false, attachedAt: '', publishContext: {} };
    const startedAt = Date.now() - 5000;
    const mig = { from: 'n1', to: 'n2', startedAt, windowSeconds: 5 };
    const two = fresh();
    const one = fresh();
    const ended = fresh();
    await state.attachments.put({ volumeId: two, nodes: { n1: node, n2: node }, migration: { ...mig } });
    await state.attachments.put({ volumeId: one, nodes: { n1: node }, migration: { ...mig } });
    await state.attachments.put({ volumeId: ended, nodes: { n1: node, n2: node }, migration: { ...mig, timedOut: true } });
    const fire = (volumeId: string, at = startedAt) => migrationTimeout({ volumeId, startedAt: at }, c);
    const rows: [string, Promise<{ fired: boolean }>, boolean][] = [
      ['another migration of the volume', fire(two, startedAt + 1), false],
      ['one node left', fire(one), false],
      ['already timed out', fire(ended), false],
      ['no record', fire(fresh()), false],
    ];
    for (const [what, p, fired] of rows) expect([what, (await p).fired]).toEqual([what, fired]);
    expect(seen).toEqual([]);
    expect((await fire(two)).fired).toBe(true);
    expect((await state.attachments.get(two))?.migration?.timedOut).toBe(true);
    expect(seen).toEqual([
      'metric failed true',
      `Warning MigrationFailed: live migration of ${two} from n1 to n2 did not finish within 5s; both nodes are still attached. Detach one side`,
    ]);
    expect((await fire(two)).fired).toBe(false);
  });
});
