import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeDirSafely } from '../../src/host/safe-remove';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { auditSimulator } from './audit';
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

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-chaos-audit-'));
    sim = await startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, 'rds'), user: SIM_USER, password: SIM_PASSWORD });
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
});
