import { Redis } from 'ioredis';
import { encodeOwner, parseOwner } from '../../src/domain/ownership';
import { deleteOrphans, findOrphans, rawFileLister } from '../../src/reconcile/orphans';
import { rebuildRecords } from '../../src/reconcile/state';
import { snapshotStore, volumeStore } from '../../src/state/listing';
import { startHarness, type Harness } from '../support/controller-harness';
import { MOUNT_RWO } from '../support/csi-client';
import { TEST_ENV, runCli as runCliTo, type CliRun } from '../support/processes';
import { ownerOf } from '../support/owner';
import { WireClient } from '../support/wire-client';

/**
 * Issue 15 item 3, ownership on RDS, on the simulator over TCP with a real redis-server: the comment rides on the
 * create's own `/disk add`; orphans and the state rebuild only consider this cluster's disks; a disk without a
 * comment is adopted by its next operation with one `/disk set`; `rds-csi volumes list --rds` shows the owner.
 */
const MiB = 1024 * 1024;
const PVC = { 'csi.storage.k8s.io/pvc/name': 'data-db-0', 'csi.storage.k8s.io/pvc/namespace': 'apps' };

const runCli = (args: string[], timeoutMs = 30000): Promise<CliRun> => runCliTo(args, { ...TEST_ENV, RDS_CSI_RDS_PASSWORD: 'secret' }, timeoutMs);

describe('ownership on RDS', () => {
  let h: Harness;
  let redis: Redis;
  let wire: WireClient;
  const me = () => ownerOf(h.cfg);
  const comment = (slot: string): string | undefined => h.sim.disks().find((d) => d.slot === slot)?.comment;
  const create = async (name: string, parameters: Record<string, string> = {}): Promise<string> =>
    (await h.client.ctl('CreateVolume', { name, capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [MOUNT_RWO], parameters }, 20000))
      .volume.volumeId as string;
  const stores = () => ({ volumes: volumeStore(redis, h.cfg.queuePrefix), snapshots: snapshotStore(redis, h.cfg.queuePrefix) });

  beforeAll(async () => {
    h = await startHarness({ overrides: { 'kubernetes.mode': 'off', nodes: 'n1' } });
    redis = new Redis(h.redis.url);
    wire = await WireClient.connect(h.sim.port);
    await wire.login('admin', 'secret');
  });
  afterAll(async () => {
    wire.close();
    redis.disconnect();
    await h.stop();
  });

  it('CreateVolume writes driver, cluster and PVC in the same /disk add (no extra command), restores and snapshots too', async () => {
    const before = h.sim.stats();
    const vol = await create('owned', PVC);
    const after = h.sim.stats();
    const delta = (k: string): number => (after[k] ?? 0) - (before[k] ?? 0);
    // No /disk set: the comment rode on the add (the 3-command count itself: test/api/command-count.test.ts).
    expect(delta('/disk/set')).toBe(0);
    expect(delta('/disk/add')).toBe(1);
    expect(comment(vol)).toBe(`rds-csi/v1;driver=rds.csi.mikrotik.com;cluster=standalone;pvc=apps/data-db-0`);
    // A hostile PVC name is left out; the ownership stays.
    const hostile = await create('hostile', { 'csi.storage.k8s.io/pvc/name': 'x;cluster=evil', 'csi.storage.k8s.io/pvc/namespace': 'apps' });
    expect(comment(hostile)).toBe(encodeOwner(me()));
    const snap = (await h.client.ctl('CreateSnapshot', { name: 'owned-snap', sourceVolumeId: vol }, 20000)).snapshot.snapshotId as string;
    expect(parseOwner(comment(snap))).toEqual(me());
    const restored = (
      await h.client.ctl(
        'CreateVolume',
        {
          name: 'restored',
          capacityRange: { requiredBytes: String(MiB) },
          volumeCapabilities: [MOUNT_RWO],
          parameters: PVC,
          volumeContentSource: { snapshot: { snapshotId: snap } },
        },
        20000,
      )
    ).volume.volumeId as string;
    expect(parseOwner(comment(restored))).toEqual({ ...me(), pvc: { namespace: 'apps', name: 'data-db-0' } });
  });

  it('a disk without a comment is adopted by its next expand with one extra /disk set, and only then', async () => {
    const vol = await create('legacy', PVC);
    await wire.call(['/disk/set', `=numbers=${vol}`, '=comment='], 'c'); // as a disk made before ownership comments
    expect(comment(vol) ?? '').toBe('');
    const sets = (): number => h.sim.stats()['/disk/set'] ?? 0;
    let before = sets();
    await h.client.ctl('ControllerExpandVolume', { volumeId: vol, capacityRange: { requiredBytes: String(2 * MiB) } }, 20000);
    expect(sets() - before).toBe(2); // the comment, then file-size
    expect(comment(vol)).toBe(encodeOwner(me(), { namespace: 'apps', name: 'data-db-0' }));
    before = sets();
    await h.client.ctl('ControllerExpandVolume', { volumeId: vol, capacityRange: { requiredBytes: String(3 * MiB) } }, 20000);
    expect(sets() - before).toBe(1); // file-size only: the comment is there
    // Someone's note is never overwritten.
    await wire.call(['/disk/set', `=numbers=${vol}`, '=comment=keep: operator note'], 'n');
    await h.client.ctl('ControllerExpandVolume', { volumeId: vol, capacityRange: { requiredBytes: String(4 * MiB) } }, 20000);
    expect(comment(vol)).toBe('keep: operator note');
    await wire.call(['/disk/set', `=numbers=${vol}`, `=comment=${encodeOwner(me())}`], 'r');
  });

  it('orphans: a disk of another cluster is never reported or touched, one of this cluster is found and deleted', async () => {
    const base = h.cfg.rds.basePath;
    const add = (slot: string, c?: string) => h.controller!.rds.addDisk({ slot, filePath: `${base}/${slot}.img`, fileSizeBytes: MiB, comment: c });
    const theirs = 'pvc-00000000-0000-4000-8000-0000000000b1';
    const mine = 'pvc-00000000-0000-4000-8000-0000000000a1';
    const legacy = 'pvc-00000000-0000-4000-8000-0000000000c1';
    await add(theirs, encodeOwner({ ...me(), cluster: 'other-cluster' }, { namespace: 'apps', name: 'their-data' }));
    await add(mine, encodeOwner(me()));
    await add(legacy); // no comment: made before ownership comments
    const src = { rds: h.controller!.rds, ...stores(), listFiles: rawFileLister(h.controller!.rds) };
    const report = await findOrphans(src, { basePath: base, slotPrefix: h.cfg.volumePrefix, owner: me() });
    expect(report.disks.map((d) => d.slot)).toEqual([mine]);
    expect(report.unowned.map((d) => d.slot)).toEqual([legacy]);
    expect(report.otherOwners).toBe(1);
    expect(JSON.stringify(report)).not.toContain(theirs);
    const outcomes = await deleteOrphans(src, report);
    expect(outcomes).toEqual([expect.objectContaining({ slot: mine, result: 'deleted' })]);
    expect(comment(theirs)).toMatch(/cluster=other-cluster/);
    expect(h.sim.disks().some((d) => d.slot === legacy)).toBe(true);
    // The operator CLI says the same.
    const cli = await runCli(['orphans', 'list', '--redis-url', h.redis.url, '--rds-address', `${h.sim.host}:${h.sim.port}`, '--kubernetes', 'off']);
    expect(cli.stderr).toBe('');
    expect(cli.stdout).toMatch(new RegExp(`unowned disk\\s+${base}/${legacy}\\.img`));
    expect(cli.stdout).toMatch(/0 orphan disk\(s\) of cluster standalone.*1 unowned disk\(s\).*1 disk\(s\) of other clusters left alone/s);
    expect(cli.stdout).not.toContain(theirs);
  });

  it('reconcile.state restores PVC names from the comments and skips other clusters', async () => {
    const vol = await create('rebuilt', PVC);
    const theirs = 'pvc-00000000-0000-4000-8000-0000000000b1';
    const keys = await redis.keys(`${h.cfg.queuePrefix}:state:*`);
    await redis.del(...keys);
    const s = stores();
    const rebuilt = await rebuildRecords(
      { rds: h.controller!.rds, ...s },
      { basePath: h.cfg.rds.basePath, volumePrefix: h.cfg.volumePrefix, nqnPrefix: h.cfg.nqnPrefix, owner: me() },
    );
    expect(rebuilt?.volumes).toBeGreaterThan(0);
    expect(await s.volumes.get(vol)).toMatchObject({ rebuilt: true, pvcName: 'data-db-0', pvcNamespace: 'apps' });
    expect(await s.volumes.get(theirs)).toBeUndefined();
  });

  it('rds-csi volumes list --rds shows each disk owner and PVC', async () => {
    const vol = await create('listed', PVC);
    const conn = ['--redis-url', h.redis.url, '--rds-address', `${h.sim.host}:${h.sim.port}`, '--kubernetes', 'off'];
    const r = await runCli(['volumes', 'list', '--rds', ...conn]);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')[0]).toMatch(/^ID\s+STATE\s+SIZE\s+ACCESS\s+PVC\s+ATTACHED\s+CREATED\s+OWNER$/);
    expect(r.stdout).toMatch(new RegExp(`^${vol}\\s+ready\\s.*apps/data-db-0.*cluster=standalone pvc=apps/data-db-0$`, 'm'));
    const json = JSON.parse((await runCli(['volumes', 'list', '--rds', '--json', ...conn])).stdout) as { id: string; owner: unknown }[];
    expect(json.find((v) => v.id === vol)?.owner).toEqual({
      kind: 'owner',
      driver: 'rds.csi.mikrotik.com',
      cluster: 'standalone',
      pvc: { namespace: 'apps', name: 'data-db-0' },
    });
  });
});
