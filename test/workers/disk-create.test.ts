import { createLogger } from '../../src/log/logger';
import type { RdsPort } from '../../src/rds/port';
import { memorySteps, type JobSteps, type ProcessorContext } from '../../src/workers/context';
import { PoolSpace } from '../../src/workers/pool-space';
import { NO_HOST } from '../../src/workers/processors/allowed-hosts';
import { processors } from '../../src/workers/processors';
import { startHarness, type Harness } from '../rds/support';

/**
 * disk.create as one job (issue 14) against the simulator over TCP: the paths besides the plain create that
 * test/api/command-count.test.ts counts. Each case starts from what RDS holds and the job's step marks, runs the
 * processor as a worker would, and checks the disk and the RouterOS commands it took.
 */
const MiB = 1024 * 1024;
const BASE = '/pool/rds-csi';
const NQN = 'nqn.2026-11.io.rds-csi';
const PORT = 4420;

function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

describe('disk.create: one job, idempotent steps', () => {
  let h: Harness;
  let rds: RdsPort;
  beforeAll(async () => {
    h = await startHarness();
    rds = h.rds;
  });
  afterAll(async () => {
    await h.stop();
  });

  function ctx(steps: JobSteps, storageSide = false): ProcessorContext<'disk.create'> {
    return {
      rds,
      basePath: BASE,
      volumePrefix: 'pvc-',
      steps,
      log: createLogger('silent'),
      space: new PoolSpace(() => rds.poolCapacity(), 60000),
      storageSide,
    };
  }
  const data = (slot: string, sizeBytes = 8 * MiB) => ({
    volumeId: slot,
    slot,
    filePath: `${BASE}/${slot}.img`,
    sizeBytes,
    nqn: `${NQN}:${slot}`,
    port: PORT,
  });
  async function marked(): Promise<JobSteps> {
    const s = memorySteps();
    await s.mark('add-issued');
    return s;
  }

  it('a retry after the add (step mark set) finds the disk by slot and adds the export an older two-step job left out', async () => {
    // What an older disk.create left behind: the disk, not exported (its target.export never ran).
    await rds.addDisk({ slot: 'pvc-upgrade', filePath: `${BASE}/pvc-upgrade.img`, fileSizeBytes: 8 * MiB });
    const before = h.sim.stats();
    const res = await processors['disk.create'](data('pvc-upgrade'), ctx(await marked()));
    expect(res).toEqual({ sizeBytes: 8 * MiB, exported: { nqn: `${NQN}:pvc-upgrade`, port: PORT } });
    expect(delta(before, h.sim.stats())).toEqual({ '/disk/print': 1, '/disk/set': 1 });
    expect(h.sim.disks().find((d) => d.slot === 'pvc-upgrade')).toMatchObject({
      nvmeTcpExport: true,
      nvmeTcpServerNqn: `${NQN}:pvc-upgrade`,
      nvmeTcpServerPort: PORT,
    });
  });

  it('a retry after an add that went through with the export: one look, nothing more', async () => {
    await processors['disk.create'](data('pvc-retry'), ctx(memorySteps()));
    const before = h.sim.stats();
    const res = await processors['disk.create'](data('pvc-retry'), ctx(await marked()));
    expect(res.exported).toEqual({ nqn: `${NQN}:pvc-retry`, port: PORT });
    expect(delta(before, h.sim.stats())).toEqual({ '/disk/print': 1 });
    expect(h.sim.disks().filter((d) => d.slot === 'pvc-retry')).toHaveLength(1);
  });

  it('a job of an older controller (no nqn/port) creates the disk unexported and says so', async () => {
    const old = { ...data('pvc-old-controller'), nqn: undefined, port: undefined };
    const res = await processors['disk.create'](old, ctx(memorySteps()));
    expect(res).toEqual({ sizeBytes: 8 * MiB });
    expect(h.sim.disks().find((d) => d.slot === 'pvc-old-controller')?.nvmeTcpExport).toBe(false);
  });

  it('storage-side fencing: the new disk allows no host until a publish names one, in the same add', async () => {
    const before = h.sim.stats();
    await processors['disk.create'](data('pvc-fenced'), ctx(memorySteps(), true));
    expect(delta(before, h.sim.stats())).toEqual({ '/file/print': 1, '/disk/add': 1, '/disk/print': 2 }); // + the pool reading
    expect(h.sim.disks().find((d) => d.slot === 'pvc-fenced')).toMatchObject({ nvmeTcpExport: true, nvmeTcpServerAllowHostName: NO_HOST });
  });

  it.each([
    {
      what: 'a leftover backing file without a disk is never reused (FAILED_PRECONDITION)',
      setup: async () => {
        await rds.addDisk({ slot: 'pvc-leftover', filePath: `${BASE}/pvc-leftover.img`, fileSizeBytes: MiB });
        await rds.removeDisk((await rds.getDisk('pvc-leftover'))!.id); // the file stays (RouterOS semantics)
      },
      slot: 'pvc-leftover',
      kind: 'precondition',
    },
    {
      what: "the slot holds someone else's disk (another file): ALREADY_EXISTS naming it, found after the add's refusal",
      setup: () => rds.addDisk({ slot: 'pvc-taken', filePath: `${BASE}/elsewhere.img`, fileSizeBytes: MiB }),
      slot: 'pvc-taken',
      kind: 'conflict',
    },
  ])('$what', async ({ setup, slot, kind }) => {
    await setup();
    const err = await processors['disk.create'](data(slot), ctx(memorySteps())).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind });
    expect(h.sim.disks().filter((d) => d.slot === slot && d.filePath === `${BASE}/${slot}.img`)).toHaveLength(0);
  });
});
