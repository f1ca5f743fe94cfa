import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeDirSafely } from '../../src/host/safe-remove';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { auditSimulator, mergeAudits } from './audit';
import { SIM_PASSWORD, SIM_USER } from './cluster';
import { SimAdmin } from './sim-admin';
import type { VolumeEntry } from './workload';

/**
 * The kill-storm's audit must see what it claims to see: a simulator set up by hand (real disks and files over the
 * wire) against a ledger that disagrees with it in each way the audit reports.
 */
const MiB = 1024 * 1024;

describe('kill-storm audit', () => {
  let sim: RunningSimulator;
  let dir: string;
  let admin: SimAdmin;

  const startSim = (name: string): Promise<RunningSimulator> =>
    startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, name), user: SIM_USER, password: SIM_PASSWORD });
  const addDisk = (a: SimAdmin, slot: string, file: string, size: number, exported: boolean): Promise<unknown> =>
    a.call(['/disk/add', '=type=file', `=slot=${slot}`, `=file-path=${file}`, `=file-size=${size}`, `=nvme-tcp-export=${exported ? 'yes' : 'no'}`]);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-chaos-audit-'));
    sim = await startSim('rds');
    admin = new SimAdmin(sim.port);
    const add = (slot: string, file: string, size: number, exported: boolean): Promise<unknown> =>
      admin.call([
        '/disk/add',
        '=type=file',
        `=slot=${slot}`,
        `=file-path=${file}`,
        `=file-size=${size}`,
        `=nvme-tcp-export=${exported ? 'yes' : 'no'}`,
      ]);
    await add('pvc-good', '/pool/rds-csi/pvc-good.img', 4 * MiB, true);
    await add('pvc-small', '/pool/rds-csi/pvc-small.img', 4 * MiB, true);
    await add('pvc-noexport', '/pool/rds-csi/pvc-noexport.img', 4 * MiB, false);
    await add('pvc-deleted', '/pool/rds-csi/pvc-deleted.img', 4 * MiB, true);
    await add('pvc-stranger', '/pool/rds-csi/pvc-stranger.img', 4 * MiB, true);
    await add('snap-ok', '/pool/rds-csi/snapshots/snap-ok.img', 4 * MiB, false);
  });
  afterAll(async () => {
    admin.close();
    await sim.close();
    removeDirSafely(dir);
  });

  it('reports lost, leaked, wrong-size and unexported volumes, and passes what matches', async () => {
    const vol = (id: string, state: VolumeEntry['state'], sizeBytes = 4 * MiB): VolumeEntry => ({
      name: id,
      volumeId: id,
      state,
      sizeBytes,
      snapshots: [],
    });
    const ledger: VolumeEntry[] = [
      { ...vol('pvc-good', 'created'), snapshots: [{ name: 's', snapshotId: 'snap-ok', state: 'created', sizeBytes: 4 * MiB }] },
      vol('pvc-small', 'created', 8 * MiB),
      vol('pvc-noexport', 'created'),
      vol('pvc-deleted', 'deleted'),
      vol('pvc-missing', 'created'),
    ];
    const r = await auditSimulator(path.join(dir, 'rds'), admin, ledger);
    expect(r.lost).toEqual(['volume pvc-missing: no disk']);
    expect(r.wrongSize).toEqual([`volume pvc-small: disk ${4 * MiB}, driver said ${8 * MiB}`]);
    expect(r.wrongExport).toEqual(['volume pvc-noexport: not exported']);
    expect(r.leaked.sort()).toEqual(
      [
        'deleted volume pvc-deleted still has a disk',
        'deleted volume pvc-deleted still has /pool/rds-csi/pvc-deleted.img',
        'disk pvc-stranger (/pool/rds-csi/pvc-stranger.img) owned by no volume or snapshot',
        'file /pool/rds-csi/pvc-stranger.img owned by no volume or snapshot',
      ].sort(),
    );
    expect(r.duplicated).toEqual([]);
    expect(r.wireMismatch).toEqual([]);
  });

  it('two backends: each simulator must hold exactly the ids that name it; a disk or id on the wrong backend is misplaced', async () => {
    const simA = await startSim('two-a');
    const simB = await startSim('two-b');
    const a = new SimAdmin(simA.port);
    const b = new SimAdmin(simB.port);
    try {
      await addDisk(a, 'pvc-a1', '/pool/rds-csi/pvc-a1.img', 4 * MiB, true);
      await addDisk(b, 'pvc-b1', '/pool/rds-csi/pvc-b1.img', 4 * MiB, true);
      await addDisk(b, 'snap-b1', '/pool/rds-csi/snapshots/snap-b1.img', 4 * MiB, false);
      await addDisk(a, 'pvc-b2', '/pool/rds-csi/pvc-b2.img', 4 * MiB, true); // its id names rds-b
      await addDisk(a, 'pvc-b3', '/pool/rds-csi/pvc-b3.img', 4 * MiB, true); // asked for rds-b, got a primary id
      await addDisk(b, 'pvc-stray', '/pool/rds-csi/pvc-stray.img', 4 * MiB, true);
      const vol = (name: string, volumeId: string, backend?: string): VolumeEntry => ({
        name,
        backend,
        volumeId,
        state: 'created',
        sizeBytes: 4 * MiB,
        snapshots: [],
      });
      const ledger: VolumeEntry[] = [
        vol('pvc-a1', 'pvc-a1'),
        { ...vol('pvc-b1', 'pvc-b1@rds-b', 'rds-b'), snapshots: [{ name: 's', snapshotId: 'snap-b1@rds-b', state: 'created', sizeBytes: 4 * MiB }] },
        vol('pvc-b2', 'pvc-b2@rds-b', 'rds-b'),
        vol('pvc-b3', 'pvc-b3', 'rds-b'),
      ];
      const r = mergeAudits([
        await auditSimulator(path.join(dir, 'two-a'), a, ledger, { backend: 'default', primary: 'default' }),
        await auditSimulator(path.join(dir, 'two-b'), b, ledger, { backend: 'rds-b', primary: 'default' }),
      ]);
      expect(r.misplaced.sort()).toEqual(
        [
          'disk pvc-b2 (/pool/rds-csi/pvc-b2.img) is on default, but its id pvc-b2@rds-b names another backend',
          'volume pvc-b3: its StorageClass asked for backend rds-b',
        ].sort(),
      );
      expect(r.lost).toEqual(['volume pvc-b2@rds-b: no disk']);
      expect(r.leaked.sort()).toEqual(
        [
          'disk pvc-stray (/pool/rds-csi/pvc-stray.img) on rds-b owned by no volume or snapshot',
          'file /pool/rds-csi/pvc-stray.img on rds-b owned by no volume or snapshot',
        ].sort(),
      );
      expect({ duplicated: r.duplicated, wrongSize: r.wrongSize, wrongExport: r.wrongExport, wireMismatch: r.wireMismatch }).toEqual({
        duplicated: [],
        wrongSize: [],
        wrongExport: [],
        wireMismatch: [],
      });
      expect(r.disks).toBe(6);
    } finally {
      a.close();
      b.close();
      await simA.close();
      await simB.close();
    }
  });
});
