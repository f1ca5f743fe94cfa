/**
 * `/file` on a real RDS lists each disk root as `type=disk` without a size (MikroTik's Files page, RouterOS 7.16.1:
 * `name=flash type=disk`); the simulator lists the pool's mount point that way. listFiles, getFile and the orphan
 * report must work with it (issue 11, item 12).
 */
import { Redis } from 'ioredis';
import { deleteOrphans, findOrphans, rawFileLister, type OrphanDeleteSources, type OrphanSources } from '../../src/reconcile/orphans';
import { snapshotStore, volumeStore } from '../../src/state/listing';
import { WireClient } from '../support/wire-client';
import { startRedis, type TestRedis } from '../support/redis';
import { startHarness, type Harness } from './support';
import { ownerCommentOf, ownerOf } from '../support/owner';

const MiB = 1024 * 1024;
const BASE = '/pool/rds-csi';
const LEFTOVER = 'pvc-00000000-0000-0000-0000-00000000dead';
const ORPHAN = 'pvc-00000000-0000-0000-0000-0000000000aa';
/** The owner of the disks this test makes: the default driver name, a standalone cluster. */
const OWNER_CFG = { driverName: 'rds.csi.mikrotik.com', clusterId: undefined };

describe('/file with the pool disk root listed', () => {
  let h: Harness;
  let redisServer: TestRedis;
  let redis: Redis;
  beforeAll(async () => {
    h = await startHarness();
    redisServer = await startRedis();
    redis = new Redis(redisServer.url);
    const gone = await h.rds.addDisk({ slot: LEFTOVER, filePath: `${BASE}/${LEFTOVER}.img`, fileSizeBytes: MiB });
    await h.rds.removeDisk(gone.id); // `/disk remove` keeps the file: a leftover
    // Made as the driver makes disks: with this cluster's ownership comment (only those are orphans of ours).
    await h.rds.addDisk({ slot: ORPHAN, filePath: `${BASE}/${ORPHAN}.img`, fileSizeBytes: 2 * MiB, comment: ownerCommentOf(OWNER_CFG) });
  });
  afterAll(async () => {
    await redis.quit();
    await redisServer.stop();
    await h.stop();
  });

  it('the simulator sends the disk root row as RouterOS does', async () => {
    const c = await WireClient.connect(h.sim.port);
    await c.login('admin', 'secret');
    const rows = WireClient.rows(await c.call(['/file/print', '?type=disk'], 'd'));
    c.close();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'pool', type: 'disk' });
    expect(rows[0].size).toBeUndefined();
  });

  it('listFiles returns the files and skips the disk root and directories', async () => {
    const files = await h.rds.listFiles();
    expect(files.map((f) => [f.name, f.type, f.sizeBytes]).sort()).toEqual(
      [
        [`pool/rds-csi/${ORPHAN}.img`, '.img file', 2 * MiB],
        [`pool/rds-csi/${LEFTOVER}.img`, '.img file', MiB],
      ].sort(),
    );
    expect(await h.rds.getFile('/pool')).toBeUndefined(); // the disk root is never a file
    expect(await h.rds.getFile('/pool/rds-csi')).toBeUndefined(); // nor a directory
  });

  it('orphans: reports and deletes the leftover file, never the disk root', async () => {
    const sources: OrphanSources & OrphanDeleteSources = {
      rds: h.rds,
      volumes: volumeStore(redis, 'orph'),
      snapshots: snapshotStore(redis, 'orph'),
      listFiles: rawFileLister(h.rds),
    };
    const report = await findOrphans(sources, { basePath: BASE, slotPrefix: '', owner: ownerOf(OWNER_CFG) });
    expect(report.filesChecked).toBe(true);
    expect(report.disks.map((d) => d.slot)).toEqual([ORPHAN]);
    expect(report.files.map((f) => f.path)).toEqual([`${BASE}/${LEFTOVER}.img`]);
    // Files only: with no record at all the CLI refuses to delete disks (refuseDeleteReason); files are safe to try.
    const outcome = await deleteOrphans(sources, { ...report, disks: [] });
    expect(outcome).toEqual([expect.objectContaining({ kind: 'file', path: `${BASE}/${LEFTOVER}.img`, result: 'deleted' })]);
    expect(await h.rds.getFile(`${BASE}/${LEFTOVER}.img`)).toBeUndefined();
    expect((await findOrphans(sources, { basePath: BASE, slotPrefix: '', owner: ownerOf(OWNER_CFG) })).files).toEqual([]);
  });
});
