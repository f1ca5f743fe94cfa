import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDirSafely } from '../../src/host/safe-remove';
import { createLogger } from '../../src/log/logger';
import { RouterOsRds } from '../../src/rds';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { memorySteps, type JobSteps } from '../../src/workers/context';
import { PoolSpace } from '../../src/workers/pool-space';
import { processors } from '../../src/workers/processors';
import { WireClient } from '../support/wire-client';

/**
 * The edges of ensure-disk.ts that test/workers/disk-create.test.ts does not reach (mutation tier, issue 19 item 2),
 * against the simulator over TCP on a small pool (32 MiB) whose free space is real allocated bytes:
 *  - the pool reservation of a copy is the larger of the request and the source's size;
 *  - a transient or "no space" refusal of the add is answered as it is, even when the slot looks taken;
 *  - a disk of ours whose export was switched off by hand (NQN and port kept) is exported again.
 */
const MiB = 1024 * 1024;
const BASE = '/pool/rds-csi';
const NQN = 'nqn.2026-11.io.rds-csi';
const PORT = 4420;

describe('ensure-disk: reservation size, refused adds, an export switched off', () => {
  let dir: string;
  let sim: RunningSimulator;
  let rds: RouterOsRds;
  let wire: WireClient;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ensure-disk-'));
    sim = await startSimulator({
      host: '127.0.0.1',
      port: 0,
      dataDir: dir,
      poolName: 'pool',
      poolSizeBytes: 32 * MiB,
      user: 'admin',
      password: 'secret',
    });
    rds = new RouterOsRds({
      host: '127.0.0.1',
      port: sim.port,
      user: 'admin',
      password: 'secret',
      poolName: 'pool',
      connectTimeoutMs: 1000,
      callTimeoutMs: 2000,
      backoffBaseMs: 20,
      backoffMaxMs: 200,
    });
    wire = await WireClient.connect(sim.port);
    await wire.login('admin', 'secret');
  });
  afterAll(async () => {
    wire.close();
    await rds.close();
    await sim.close();
    removeDirSafely(dir);
  });

  const ctx = (steps: JobSteps = memorySteps()) => ({
    rds,
    basePath: BASE,
    volumePrefix: 'pvc-',
    steps,
    log: createLogger('silent'),
    space: new PoolSpace(() => rds.poolCapacity(), 60000),
    storageSide: false,
  });
  const file = (slot: string): string => `${BASE}/${slot}.img`;
  const create = (slot: string, sizeBytes: number, copyFromSlot?: string, steps?: JobSteps) =>
    processors['disk.create']({ volumeId: slot, slot, filePath: file(slot), sizeBytes, copyFromSlot, nqn: `${NQN}:${slot}`, port: PORT }, ctx(steps));
  const outcome = (p: Promise<unknown>): Promise<string> =>
    p.then(
      () => 'ok',
      (e: Error & { kind?: string }) => `${e.kind ?? 'error'}: ${e.message}`,
    );

  it('a copy reserves the larger of the request and its source: a snapshot of a source bigger than the free space, a restore asking more than it', async () => {
    await rds.addDisk({ slot: 'snap-big', filePath: file('snap-big'), fileSizeBytes: 12 * MiB });
    await rds.addDisk({ slot: 'snap-small', filePath: file('snap-small'), fileSizeBytes: MiB });
    // 24 MiB of real data: the pool (32 MiB, sparse disk files) has about 8 MiB free, less than either copy needs.
    writeFileSync(join(dir, 'pool', 'filler.bin'), Buffer.alloc(24 * MiB, 1));
    await new Promise((r) => setTimeout(r, 300)); // the simulator's capacity cache (250 ms)
    const free = (await rds.poolCapacity()).freeBytes;
    expect(free).toBeLessThan(10 * MiB);
    const snapshot = processors['snapshot.create'](
      { volumeId: 'pvc-src', snapshotId: 'snap-copy', slot: 'snap-copy', filePath: file('snap-copy'), sourceSlot: 'snap-big' },
      ctx(),
    );
    expect(await outcome(snapshot)).toBe(`exhausted: RDS pool has ${free} bytes free, ${12 * MiB} needed; free space on the pool or request less`);
    expect(await outcome(create('pvc-restore', 10 * MiB, 'snap-small'))).toBe(
      `exhausted: RDS pool has ${free} bytes free, ${10 * MiB} needed; free space on the pool or request less`,
    );
    expect(sim.disks().map((d) => d.slot)).toEqual(['snap-big', 'snap-small']);
  });

  it.each([
    { what: 'a transient refusal (busy) stays transient, to be retried', trap: 'device busy, try again', kind: 'unavailable' },
    { what: 'a "no space" refusal stays RESOURCE_EXHAUSTED', trap: 'not enough space', kind: 'exhausted' },
  ])('$what, even with the slot taken by another file', async ({ trap, kind }) => {
    const slot = `pvc-taken-${kind}`;
    await rds.addDisk({ slot, filePath: `${BASE}/someone-else-${kind}.img`, fileSizeBytes: MiB });
    // Every add attempt of the port (which retries a transient trap itself) is refused; no category: the text decides.
    sim.faults.trapNext('/disk/add', trap, 100);
    const got = await outcome(create(slot, MiB));
    sim.faults.clear();
    expect(got).toMatch(new RegExp(`^${kind}: .*${trap}`));
  });

  it("a refused add with this volume's own disk in the slot (its backing file gone) is answered as RouterOS refused it, not as a conflict", async () => {
    // The look before the add finds no file, so the add is issued; RouterOS refuses it (the slot is taken). The
    // disk in the slot has this volume's file: not someone else's, so no "already used by a disk with file" answer.
    const slot = 'pvc-own-slot';
    await rds.addDisk({ slot, filePath: file(slot), fileSizeBytes: MiB });
    rmSync(join(dir, 'pool', 'rds-csi', `${slot}.img`));
    expect(await rds.getFile(file(slot))).toBeUndefined();
    const got = await outcome(create(slot, MiB));
    expect(got).not.toMatch(/already used by a disk/);
    expect(got).toMatch(/^precondition: /);
  });

  it('a disk of ours whose export was switched off by hand (NQN and port kept) is exported again', async () => {
    const slot = 'pvc-unexported';
    await rds.addDisk({ slot, filePath: file(slot), fileSizeBytes: MiB, export: { nqn: `${NQN}:${slot}`, port: PORT } });
    await wire.call(['/disk/set', `=numbers=${slot}`, '=nvme-tcp-export=no'], 's');
    expect(sim.disks().find((d) => d.slot === slot)).toMatchObject({
      nvmeTcpExport: false,
      nvmeTcpServerNqn: `${NQN}:${slot}`,
      nvmeTcpServerPort: PORT,
    });
    const steps = memorySteps();
    await steps.mark('add-issued');
    expect(await create(slot, MiB, undefined, steps)).toEqual({ sizeBytes: MiB, exported: { nqn: `${NQN}:${slot}`, port: PORT } });
    expect(sim.disks().find((d) => d.slot === slot)?.nvmeTcpExport).toBe(true);
  });
});
