import { Failure } from '../../src/domain/failure';
import { createLogger } from '../../src/log/logger';
import type { RdsPort } from '../../src/rds/port';
import { memorySteps, type ProcessorContext } from '../../src/workers/context';
import { processors } from '../../src/workers/processors';
import { startHarness, type Harness } from '../rds/support';
import { WireClient } from '../support/wire-client';

/**
 * target.export (the second job of an older controller's CreateVolume) against the simulator over TCP: each case
 * starts from the disk RDS holds and checks the answer, the export left on RDS and the RouterOS commands it took
 * (mutation tier, issue 19 item 2: before this file only the rolling-upgrade test ran it, on an unexported disk).
 */
const MiB = 1024 * 1024;
const BASE = '/pool/rds-csi';
const NQN = 'nqn.2026-11.io.rds-csi';

function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

describe('target.export', () => {
  let h: Harness;
  let rds: RdsPort;
  let wire: WireClient;
  beforeAll(async () => {
    h = await startHarness();
    rds = h.rds;
    await rds.getDisk('pvc-warm-up'); // the login, so each case counts only its own commands
    wire = await WireClient.connect(h.sim.port);
    await wire.login('admin', 'secret');
  });
  afterAll(async () => {
    wire.close();
    await h.stop();
  });

  const ctx = (): ProcessorContext<'target.export'> => ({
    rds,
    basePath: BASE,
    volumePrefix: 'pvc-',
    steps: memorySteps(),
    log: createLogger('silent'),
  });
  const job = (slot: string, port = 4420) => ({ volumeId: slot, slot, nqn: `${NQN}:${slot}`, port });
  const exportOf = (slot: string) => {
    const d = h.sim.disks().find((x) => x.slot === slot);
    return { export: d?.nvmeTcpExport, nqn: d?.nvmeTcpServerNqn, port: d?.nvmeTcpServerPort };
  };
  const add = (slot: string) => rds.addDisk({ slot, filePath: `${BASE}/${slot}.img`, fileSizeBytes: MiB });

  it('a disk gone before its export is NOT_FOUND naming the slot, and nothing is set', async () => {
    const before = h.sim.stats();
    const err = await processors['target.export'](job('pvc-gone'), ctx()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Failure);
    expect([(err as Failure).kind, (err as Failure).message]).toEqual([
      'not-found',
      'disk pvc-gone is gone from RDS before it could be exported; retry CreateVolume',
    ]);
    expect(delta(before, h.sim.stats())).toEqual({ '/disk/print': 1 });
  });

  it('exports an unexported disk with the NQN and port of the job', async () => {
    await add('pvc-plain');
    const before = h.sim.stats();
    await expect(processors['target.export'](job('pvc-plain', 4421), ctx())).resolves.toEqual({ nqn: `${NQN}:pvc-plain`, port: 4421 });
    expect(exportOf('pvc-plain')).toEqual({ export: true, nqn: `${NQN}:pvc-plain`, port: 4421 });
    expect(delta(before, h.sim.stats())).toEqual({ '/disk/print': 1, '/disk/set': 1 });
  });

  it('a disk already exported the same way (a retry) is done with one look, no /disk set', async () => {
    await add('pvc-again');
    await processors['target.export'](job('pvc-again'), ctx());
    const before = h.sim.stats();
    await expect(processors['target.export'](job('pvc-again'), ctx())).resolves.toEqual({ nqn: `${NQN}:pvc-again`, port: 4420 });
    expect(delta(before, h.sim.stats())).toEqual({ '/disk/print': 1 });
  });

  // Each field that differs from the job's makes it set the export again (a disk exported another way is not done).
  it.each([
    ['another port', (slot: string) => rds.setExport(disk(slot), { nqn: `${NQN}:${slot}`, port: 4430 })],
    ['another NQN', (slot: string) => rds.setExport(disk(slot), { nqn: `${NQN}:someone-else`, port: 4420 })],
    ['the export switched off (NQN and port kept)', (slot: string) => wire.call(['/disk/set', `=numbers=${slot}`, '=nvme-tcp-export=no'], 's')],
  ])('a disk exported with %s is exported again the way the job says', async (what, change) => {
    const slot = `pvc-${what.replace(/[^a-z]+/g, '-')}`.slice(0, 40);
    await add(slot);
    await processors['target.export'](job(slot), ctx());
    await change(slot);
    const before = h.sim.stats();
    await expect(processors['target.export'](job(slot), ctx())).resolves.toEqual({ nqn: `${NQN}:${slot}`, port: 4420 });
    expect(exportOf(slot)).toEqual({ export: true, nqn: `${NQN}:${slot}`, port: 4420 });
    expect(delta(before, h.sim.stats())).toEqual({ '/disk/print': 1, '/disk/set': 1 });
  });

  function disk(slot: string): string {
    const id = h.sim.disks().find((d) => d.slot === slot)?.id;
    if (!id) throw new Error(`no disk ${slot}`);
    return id;
  }
});
