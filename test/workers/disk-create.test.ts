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

  it('without storage-side fencing the new disk is exported with the allowed hosts RouterOS gives it (no placeholder)', async () => {
    await processors['disk.create'](data('pvc-open-hosts'), ctx(memorySteps(), false));
    expect(h.sim.disks().find((d) => d.slot === 'pvc-open-hosts')).toMatchObject({ nvmeTcpExport: true, nvmeTcpServerAllowHostName: '' });
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
  // Each path of ensure-disk.ts with its exact answer and the RouterOS commands it took (mutation tier, issue 19 item 2).
  const failure = (p: Promise<unknown>): Promise<string> =>
    p.then(
      (v) => `ok ${JSON.stringify(v)}`,
      (e: Error & { kind?: string }) => `${e.kind ?? 'error'}: ${e.message}`,
    );
  const file = (slot: string): string => `${BASE}/${slot}.img`;

  it('refuses a backing file outside the base path before any RouterOS command', async () => {
    const before = h.sim.stats();
    const job = { ...data('pvc-outside'), filePath: '/pool/elsewhere/pvc-outside.img' };
    expect(await failure(processors['disk.create'](job, ctx(memorySteps())))).toBe(
      `invalid: backing file /pool/elsewhere/pvc-outside.img is not under the base path ${BASE}`,
    );
    expect(delta(before, h.sim.stats())).toEqual({});
  });

  it('marks the add before issuing it, so a retry looks the disk up first', async () => {
    const steps = memorySteps();
    await processors['disk.create'](data('pvc-marks'), ctx(steps));
    expect(steps.has('add-issued')).toBe(true);
  });

  it('a retry whose file exists but not the disk yet waits for its own add; another file in the slot is ALREADY_EXISTS', async () => {
    await rds.addDisk({ slot: 'pvc-inflight', filePath: file('pvc-inflight'), fileSizeBytes: MiB });
    await rds.removeDisk((await rds.getDisk('pvc-inflight'))!.id); // the file stays: what an add still copying looks like
    expect(await failure(processors['disk.create'](data('pvc-inflight'), ctx(await marked())))).toBe(
      'error: the add of pvc-inflight is still in progress on RDS (its file exists, the disk not yet)',
    );
    await rds.addDisk({ slot: 'pvc-other-file', filePath: `${BASE}/someone-else.img`, fileSizeBytes: MiB });
    for (const steps of [await marked(), memorySteps()])
      expect(await failure(processors['disk.create'](data('pvc-other-file'), ctx(steps)))).toBe(
        `conflict: RDS slot pvc-other-file is already used by a disk with file ${BASE}/someone-else.img; expected ${file('pvc-other-file')}. Inspect it with /disk print`,
      );
  });

  it('grows a disk this job added; a smaller disk of ours found without the mark (steps gone) is a conflict, never grown', async () => {
    await rds.addDisk({ slot: 'pvc-grow', filePath: file('pvc-grow'), fileSizeBytes: 4 * MiB });
    expect(await processors['disk.create'](data('pvc-grow', 8 * MiB), ctx(await marked()))).toMatchObject({ sizeBytes: 8 * MiB });
    expect((await rds.getDisk('pvc-grow'))!.fileSizeBytes).toBe(8 * MiB);
    // Exactly the size asked: nothing to grow.
    const before = h.sim.stats();
    await processors['disk.create'](data('pvc-grow', 8 * MiB), ctx(await marked()));
    expect(delta(before, h.sim.stats())).toEqual({ '/disk/print': 1 });
    await rds.addDisk({ slot: 'pvc-small', filePath: file('pvc-small'), fileSizeBytes: 4 * MiB });
    expect(await failure(processors['disk.create'](data('pvc-small', 8 * MiB), ctx(memorySteps())))).toBe(
      `conflict: disk pvc-small exists with ${4 * MiB} bytes, smaller than the requested ${8 * MiB}`,
    );
    expect((await rds.getDisk('pvc-small'))!.fileSizeBytes).toBe(4 * MiB);
  });

  it('a restore: names a missing source; copies, grows to the request and exports; a copy found again is grown too', async () => {
    expect(await failure(processors['disk.create']({ ...data('pvc-restore'), copyFromSlot: 'snap-missing' }, ctx(memorySteps())))).toBe(
      'not-found: source disk snap-missing does not exist on RDS',
    );
    await rds.addDisk({ slot: 'snap-src', filePath: file('snap-src'), fileSizeBytes: 4 * MiB });
    const res = await processors['disk.create']({ ...data('pvc-restore'), copyFromSlot: 'snap-src' }, ctx(memorySteps()));
    expect(res).toEqual({ sizeBytes: 8 * MiB, exported: { nqn: `${NQN}:pvc-restore`, port: PORT } });
    expect((await rds.getDisk('pvc-restore'))!).toMatchObject({ fileSizeBytes: 8 * MiB, nvmeTcpExport: true });
    // The restore's disk found by a job whose steps are gone (a rebuilt record): a copy may be grown.
    await rds.addDisk({ slot: 'pvc-restore-2', filePath: file('pvc-restore-2'), fileSizeBytes: 4 * MiB });
    const again = await processors['disk.create']({ ...data('pvc-restore-2'), copyFromSlot: 'snap-src' }, ctx(memorySteps()));
    expect(again.sizeBytes).toBe(8 * MiB);
  });

  it('an export with another port or NQN is set again; storage-side fencing adds the placeholder to an open export', async () => {
    const cases: [string, (slot: string) => Promise<unknown>][] = [
      ['pvc-port', (slot) => rds.addDisk({ slot, filePath: file(slot), fileSizeBytes: 8 * MiB, export: { nqn: `${NQN}:${slot}`, port: PORT + 1 } })],
      ['pvc-nqn', (slot) => rds.addDisk({ slot, filePath: file(slot), fileSizeBytes: 8 * MiB, export: { nqn: `${NQN}:other`, port: PORT } })],
    ];
    for (const [slot, setup] of cases) {
      await setup(slot);
      const before = h.sim.stats();
      await processors['disk.create'](data(slot), ctx(await marked()));
      expect([slot, delta(before, h.sim.stats())]).toEqual([slot, { '/disk/print': 1, '/disk/set': 1 }]);
      expect([slot, h.sim.disks().find((d) => d.slot === slot)]).toMatchObject([
        slot,
        { nvmeTcpExport: true, nvmeTcpServerNqn: `${NQN}:${slot}`, nvmeTcpServerPort: PORT },
      ]);
    }
    await rds.addDisk({ slot: 'pvc-open', filePath: file('pvc-open'), fileSizeBytes: 8 * MiB, export: { nqn: `${NQN}:pvc-open`, port: PORT } });
    await processors['disk.create'](data('pvc-open'), ctx(await marked(), true));
    expect(h.sim.disks().find((d) => d.slot === 'pvc-open')).toMatchObject({ nvmeTcpExport: true, nvmeTcpServerAllowHostName: NO_HOST });
  });
  it("the pool reservation of a refused add is given back, a finished add's once RDS shows its file", async () => {
    // One worker's PoolSpace across jobs; the simulator's pool is 100 GiB and a new disk's file is sparse, so after
    // each add the pool still has the space: only the driver's own bookkeeping could refuse the next add.
    const GiB = 1024 * MiB;
    const space = new PoolSpace(() => rds.poolCapacity(), 60000);
    const run = (slot: string) => failure(processors['disk.create'](data(slot, 60 * GiB), { ...ctx(memorySteps()), space }));
    h.sim.faults.trapNext('/disk/add', 'failure: refused for this test', 1, 0);
    expect(await run('pvc-space-refused')).toMatch(/^not-found: .*refused for this test/);
    expect(await run('pvc-space-1')).toMatch(/^ok /);
    expect(await run('pvc-space-2')).toMatch(/^ok /);
  });
});
