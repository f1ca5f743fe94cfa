import { Redis } from 'ioredis';
import {
  deleteOrphans,
  findOrphans,
  isDriverSlot,
  rawFileLister,
  refuseDeleteReason,
  type OrphanReport,
  type OrphanScope,
  type OrphanSources,
} from '../../src/reconcile/orphans';
import { snapshotStore, volumeStore } from '../../src/state/listing';
import type { RdsPort } from '../../src/rds/port';
import type { RecordStore } from '../../src/state/record-store';
import { startHarness, type Harness } from '../support/controller-harness';
import { ownerCommentOf, ownerOf } from '../support/owner';

/** findOrphans / deleteOrphans on the simulator with records written by the real controller. */

const MiB = 1024 * 1024;
const MOUNT = { mount: { fsType: 'ext4' }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };

describe('orphans', () => {
  let h: Harness;
  let redis: Redis;
  let rds: RdsPort;
  let kept: string;
  let leaked: string;
  let snap: string;

  const sources = (): OrphanSources => ({
    rds,
    volumes: volumeStore(redis, h.cfg.queuePrefix),
    snapshots: snapshotStore(redis, h.cfg.queuePrefix),
    listFiles: rawFileLister(rds),
  });
  const scope = (): OrphanScope => ({ basePath: h.cfg.rds.basePath, slotPrefix: h.cfg.volumePrefix, owner: ownerOf(h.cfg) });
  const create = async (name: string): Promise<string> =>
    (await h.client.ctl('CreateVolume', { name, capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [MOUNT] }, 20000)).volume
      .volumeId as string;

  beforeAll(async () => {
    h = await startHarness();
    redis = new Redis(h.redis.url);
    rds = h.controller!.rds;
    kept = await create('kept');
    leaked = await create('leaked');
    snap = (await h.client.ctl('CreateSnapshot', { name: 'kept-snap', sourceVolumeId: kept }, 20000)).snapshot.snapshotId as string;
    // The leak: the record of `leaked` vanished (e.g. an old driver), its disk and file stayed (and it is exported).
    await redis.del(`${h.cfg.queuePrefix}:state:vol:${leaked}`);
    await redis.zrem(`${h.cfg.queuePrefix}:state:vols`, leaked);
    // A file left by `/disk remove` (which keeps the file).
    const gone = await rds.addDisk({
      slot: 'pvc-00000000-0000-0000-0000-00000000dead',
      filePath: `${h.cfg.rds.basePath}/pvc-00000000-0000-0000-0000-00000000dead.img`,
      fileSizeBytes: MiB,
    });
    await rds.removeDisk(gone.id);
    // Things that are not ours: another slot shape under the base path, a driver-shaped slot outside it, a file outside it.
    await rds.addDisk({ slot: 'other-app-disk', filePath: `${h.cfg.rds.basePath}/other-app-disk.img`, fileSizeBytes: MiB });
    await rds.addDisk({ slot: 'vol-outside-000000000000', filePath: '/pool/elsewhere/vol-outside.img', fileSizeBytes: MiB });
    const outside = await rds.addDisk({ slot: 'tmp-outside', filePath: '/pool/elsewhere/loose.img', fileSizeBytes: MiB });
    await rds.removeDisk(outside.id);
  });
  afterAll(async () => {
    redis.disconnect();
    await h.stop();
  });

  it('reports the unknown disk and the unused file, and nothing outside the prefix or base path', async () => {
    const report = await findOrphans(sources(), scope());
    expect(report.filesChecked).toBe(true);
    expect(report.known).toEqual({ volumes: 1, snapshots: 1 });
    expect(report.disks).toEqual([
      expect.objectContaining({ slot: leaked, filePath: `${h.cfg.rds.basePath}/${leaked}.img`, sizeBytes: MiB, exported: true }),
    ]);
    expect(report.files.map((f) => f.path)).toEqual([`${h.cfg.rds.basePath}/pvc-00000000-0000-0000-0000-00000000dead.img`]);
    const all = JSON.stringify(report);
    for (const never of ['other-app-disk', 'elsewhere', kept, snap]) expect(all).not.toContain(never);
  });

  it('without a file listing reports disks only, and says so', async () => {
    const report = await findOrphans({ ...sources(), listFiles: undefined }, scope());
    expect(report.filesChecked).toBe(false);
    expect(report.files).toEqual([]);
    expect(report.disks.map((d) => d.slot)).toEqual([leaked]);
  });

  it('refuses to delete when Redis holds no record at all', () => {
    expect(
      refuseDeleteReason({
        basePath: '/pool/rds-csi',
        slotPrefix: '',
        owner: ownerOf(h.cfg),
        unowned: [],
        otherOwners: 0,
        disks: [{ id: '*1', slot: leaked, filePath: '/pool/rds-csi/x.img', sizeBytes: 1, exported: false }],
        files: [],
        filesChecked: true,
        scanned: { disks: 1 },
        known: { volumes: 0, snapshots: 0 },
      }),
    ).toMatch(/Redis may have lost its data/);
  });

  it('deletes only the orphans: an exported disk needs includeExported, and a disk goes with its file', async () => {
    const report = await findOrphans(sources(), scope());
    expect(refuseDeleteReason(report)).toBeUndefined();
    const first = await deleteOrphans(
      { rds, volumes: volumeStore(redis, h.cfg.queuePrefix), snapshots: snapshotStore(redis, h.cfg.queuePrefix) },
      report,
    );
    expect(first.map((o) => [o.kind, o.result])).toEqual([
      ['disk', 'skipped'],
      ['file', 'deleted'],
    ]);
    expect(first[0].detail).toMatch(/exported/);
    const second = await deleteOrphans(
      { rds, volumes: volumeStore(redis, h.cfg.queuePrefix), snapshots: snapshotStore(redis, h.cfg.queuePrefix) },
      await findOrphans(sources(), scope()),
      { includeExported: true },
    );
    expect(second).toEqual([expect.objectContaining({ kind: 'disk', slot: leaked, result: 'deleted', detail: 'disk and backing file removed' })]);
    const after = await findOrphans(sources(), scope());
    expect(after.disks).toEqual([]);
    expect(after.files).toEqual([]);
    // Ours and not-ours are all still there.
    const slots = h.sim
      .disks()
      .map((d) => d.slot)
      .sort();
    expect(slots).toEqual([kept, 'other-app-disk', snap, 'vol-outside-000000000000'].sort());
    expect(await rds.getFile('/pool/elsewhere/loose.img')).toBeDefined();
    expect(await rds.getFile(`${h.cfg.rds.basePath}/${leaked}.img`)).toBeUndefined();
  });

  it('re-checks each item before deleting: a record that appears in between protects its disk', async () => {
    const again = await create('raced');
    await redis.del(`${h.cfg.queuePrefix}:state:vol:${again}`);
    const stale = await findOrphans(sources(), scope());
    expect(stale.disks.map((d) => d.slot)).toEqual([again]);
    // The record comes back (a CreateVolume retry) after the scan, before the delete.
    await h.client.ctl('CreateVolume', { name: 'raced', capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [MOUNT] }, 20000);
    const out = await deleteOrphans(
      { rds, volumes: volumeStore(redis, h.cfg.queuePrefix), snapshots: snapshotStore(redis, h.cfg.queuePrefix) },
      stale,
      { includeExported: true },
    );
    expect(out).toEqual([expect.objectContaining({ slot: again, result: 'skipped', detail: 'a record for this slot exists now' })]);
    expect(h.sim.disks().some((d) => d.slot === again)).toBe(true);
  });

  it('reads the records a page at a time, and records on every page protect their disks (issue 14 item 5)', async () => {
    const more = [await create('paged-1'), await create('paged-2'), await create('paged-3')];
    const pages: Record<string, number[]> = { volumes: [], snapshots: [] };
    const counted = <T extends { id: string; gen: string; state: string }>(store: RecordStore<T>, into: number[]): RecordStore<T> => ({
      get: (id) => store.get(id),
      claim: (r) => store.claim(r),
      update: (r, from) => store.update(r, from),
      remove: (id, gen) => store.remove(id, gen),
      count: () => store.count(),
      page: async (after, limit) => {
        const p = await store.page(after, limit);
        into.push(p.records.length);
        return p;
      },
    });
    const src = sources();
    const report = await findOrphans(
      { ...src, volumes: counted(src.volumes, pages.volumes), snapshots: counted(src.snapshots, pages.snapshots), pageSize: 1 },
      scope(),
    );
    const volumes = await src.volumes.count();
    expect(report.known).toEqual({ volumes, snapshots: 1 });
    // Pages of one record each: never all the records in one read.
    expect(Math.max(...pages.volumes)).toBe(1);
    expect(pages.volumes.filter((n) => n > 0)).toHaveLength(volumes);
    expect(report.disks).toEqual([]);
    for (const id of more) expect(JSON.stringify(report)).not.toContain(id);
  });

  // A report can be stale or forged (the CLI reads what findOrphans found a moment ago): deleteOrphans re-checks each
  // item on RDS and in Redis and deletes none of these, whatever the report says.
  it('re-checks every item of a stale or forged report: nothing outside the rules is deleted', async () => {
    const base = h.cfg.rds.basePath;
    const moved = await create('moved');
    await redis.del(`${h.cfg.queuePrefix}:state:vol:${moved}`);
    // A volume whose disk vanished while its record stayed: its file is named by a record, not an orphan.
    const recorded = await create('recorded');
    const recordedFile = `${base}/${recorded}.img`;
    await rds.removeDisk((await rds.getDisk(recorded))!.id);
    expect((await findOrphans(sources(), scope())).files.map((f) => f.path)).not.toContain(recordedFile);
    const snapFile = h.sim.disks().find((d) => d.slot === snap)!.filePath;
    const gone = 'pvc-00000000-0000-4000-8000-00000000beef';
    const disk = (slot: string, filePath: string) => ({ id: '*0', slot, filePath, sizeBytes: MiB, exported: false });
    const report: OrphanReport = {
      basePath: base,
      slotPrefix: h.cfg.volumePrefix,
      owner: ownerOf(h.cfg),
      unowned: [],
      otherOwners: 0,
      disks: [
        disk('vol-outside-000000000000', '/pool/elsewhere/vol-outside.img'),
        disk('other-app-disk', `${base}/other-app-disk.img`),
        disk(gone, `${base}/${gone}.img`),
        disk(moved, `${base}/not-its-file.img`),
        disk(snap, snapFile),
      ],
      files: [
        { id: '*0', path: '/pool/elsewhere/loose.img', sizeBytes: MiB },
        { id: '*0', path: `${base}/${kept}.img`, sizeBytes: MiB },
        { id: '*0', path: `${base}/${gone}.img`, sizeBytes: MiB },
        { id: '*0', path: recordedFile, sizeBytes: MiB },
      ],
      filesChecked: true,
      scanned: { disks: 4, files: 3 },
      known: { volumes: 1, snapshots: 1 },
    };
    const out = await deleteOrphans(
      { rds, volumes: volumeStore(redis, h.cfg.queuePrefix), snapshots: snapshotStore(redis, h.cfg.queuePrefix) },
      report,
      { includeExported: true },
    );
    expect(out.map((o) => [o.kind, o.path, o.result, o.detail])).toEqual([
      ['disk', '/pool/elsewhere/vol-outside.img', 'skipped', `not under ${base} or not a driver slot`],
      ['disk', `${base}/other-app-disk.img`, 'skipped', `not under ${base} or not a driver slot`],
      ['disk', `${base}/${gone}.img`, 'skipped', 'the disk is gone already'],
      ['disk', `${base}/not-its-file.img`, 'skipped', `the slot now uses ${base}/${moved}.img`],
      ['disk', snapFile, 'skipped', 'a record for this slot exists now'],
      ['file', '/pool/elsewhere/loose.img', 'skipped', `not under ${base}`],
      ['file', `${base}/${kept}.img`, 'skipped', 'a disk uses this file now'],
      ['file', `${base}/${gone}.img`, 'skipped', 'the file is gone already'],
      ['file', recordedFile, 'skipped', 'a record names this file now'],
    ]);
    expect(await rds.getFile(recordedFile)).toBeDefined();
    const slots = h.sim.disks().map((d) => d.slot);
    for (const slot of ['vol-outside-000000000000', 'other-app-disk', moved, kept, snap]) expect(slots).toContain(slot);
    expect(await rds.getFile('/pool/elsewhere/loose.img')).toBeDefined();
  });

  it('counts the records again before deleting: a Redis flushed after the scan refuses the delete', async () => {
    const report = await findOrphans(sources(), scope());
    expect(report.disks.length).toBeGreaterThan(0);
    // Stores under a prefix nothing wrote to: what the delete sees when Redis was flushed after the scan.
    const src = { rds, volumes: volumeStore(redis, 'flushed'), snapshots: snapshotStore(redis, 'flushed') };
    const err = await deleteOrphans(src, report, { includeExported: true }).then(
      () => new Error('not refused'),
      (e: Error) => e,
    );
    expect(err.name).toBe('OrphanDeleteRefused');
    expect(err.message).toBe(
      `Redis holds no volume or snapshot record, yet ${report.disks.length} driver disk(s) exist under ${h.cfg.rds.basePath}: ` +
        'Redis may have lost its data, and deleting would destroy live volumes. Rebuild the records first (reconcile.state)',
    );
    expect(h.sim.disks().some((d) => d.slot === report.disks[0].slot)).toBe(true);
    // The operator's override skips that guard; the per-item rules still hold (the orphan is exported: kept).
    const forced = await deleteOrphans(src, report, { evenIfRedisIsEmpty: true });
    expect(forced.map((o) => [o.slot, o.result])).toEqual(report.disks.map((d) => [d.slot, 'skipped']));
    expect(h.sim.disks().some((d) => d.slot === report.disks[0].slot)).toBe(true);
  });
  it('does not refuse a delete with nothing to delete, even when Redis is empty', () => {
    const empty = {
      basePath: '/pool/rds-csi',
      slotPrefix: '',
      owner: ownerOf(h.cfg),
      disks: [],
      unowned: [],
      otherOwners: 0,
      files: [],
      filesChecked: true,
      scanned: { disks: 0 },
    };
    expect(refuseDeleteReason({ ...empty, known: { volumes: 0, snapshots: 0 } })).toBeUndefined();
  });

  it('with a volume prefix, finds the disks of that prefix', async () => {
    const base = h.cfg.rds.basePath;
    const slot = 'k1-vol-0123456789abcdef';
    const d = await rds.addDisk({ slot, filePath: `${base}/${slot}.img`, fileSizeBytes: MiB, comment: ownerCommentOf(h.cfg) });
    try {
      expect(isDriverSlot(slot, 'k1-')).toBe(true);
      const report = await findOrphans(sources(), { basePath: base, slotPrefix: 'k1-', owner: ownerOf(h.cfg) });
      expect(report.disks.map((o) => o.slot)).toEqual([slot]);
    } finally {
      await rds.removeDisk(d.id);
      const f = await rds.getFile(`${base}/${slot}.img`);
      if (f) await rds.removeFile(f.id);
    }
  });
});
