/** Every RdsPort method of RouterOsRds against the real simulator over TCP. */
import { statSync } from 'fs';
import { join } from 'path';
import { RdsError } from '../../src/rds';
import { GiB, startHarness, type Harness } from './support';

describe('RouterOsRds against the simulator', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.stop();
  });

  it('adds, reads, lists, exports, removes a disk and its file', async () => {
    const { rds } = h;
    expect(await rds.getDisk('pvc-a')).toBeUndefined();
    const disk = await rds.addDisk({ slot: 'pvc-a', filePath: '/pool/vols/pvc-a.img', fileSizeBytes: GiB });
    expect(disk).toMatchObject({ slot: 'pvc-a', filePath: '/pool/vols/pvc-a.img', fileSizeBytes: GiB, nvmeTcpExport: false });
    expect(disk.id).toMatch(/^\*[0-9A-F]+$/);
    expect(statSync(join(h.dir, 'pool', 'vols', 'pvc-a.img')).size).toBe(GiB);
    await rds.addDisk({ slot: 'pvc-b', filePath: '/pool/vols/pvc-b.img', fileSizeBytes: 2 * GiB });
    await rds.addDisk({ slot: 'other', filePath: '/pool/vols/other.img', fileSizeBytes: 1048576 });

    expect((await rds.listDisks('pvc-')).map((d) => d.slot).sort()).toEqual(['pvc-a', 'pvc-b']);
    expect((await rds.listDisks()).map((d) => d.slot).sort()).toEqual(['other', 'pvc-a', 'pvc-b']);
    expect(await rds.listDisks('nothing-')).toEqual([]);

    await rds.setExport(disk.id, { port: 4420, nqn: 'nqn.2026-11.io.rds-csi:pvc-a' });
    expect(await rds.getDisk('pvc-a')).toMatchObject({
      nvmeTcpExport: true,
      nvmeTcpPort: 4420,
      nvmeTcpNqn: 'nqn.2026-11.io.rds-csi:pvc-a',
    });

    await rds.removeDisk(disk.id);
    expect(await rds.getDisk('pvc-a')).toBeUndefined();
    await rds.removeDisk(disk.id); // already gone = success

    const file = await rds.getFile('/pool/vols/pvc-a.img'); // disk removal leaves the file (RouterOS semantics)
    expect(file).toMatchObject({ name: 'pool/vols/pvc-a.img', sizeBytes: GiB });
    expect(await rds.getFile('pool/vols/pvc-a.img')).toEqual(file);
    await rds.removeFile(file!.id);
    expect(await rds.getFile('/pool/vols/pvc-a.img')).toBeUndefined();
    await rds.removeFile(file!.id); // missing = success
  });

  it('reports pool capacity and answers ping', async () => {
    const before = await h.rds.poolCapacity();
    expect(before.sizeBytes).toBe(100 * GiB);
    expect(before.freeBytes).toBeLessThanOrEqual(before.sizeBytes);
    expect(before.freeBytes).toBeGreaterThan(0);
    await h.rds.ping();
    const wrongPool = h.make({ poolName: 'nope' });
    await expect(wrongPool.poolCapacity()).rejects.toMatchObject({ kind: 'precondition' });
  });

  it('setExport of an unknown id is not-found', async () => {
    await expect(h.rds.setExport('*FFFF', { port: 4420, nqn: 'nqn.x' })).rejects.toMatchObject({
      kind: 'not-found',
    });
  });

  it("maps the trap 'not enough space' to RESOURCE_EXHAUSTED", async () => {
    h.sim.faults.trapNext('/disk/add', 'not enough space');
    const err = await h.rds.addDisk({ slot: 'pvc-big', filePath: '/pool/vols/pvc-big.img', fileSizeBytes: GiB }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RdsError);
    expect(err).toMatchObject({ kind: 'exhausted' });
    expect((err as RdsError).message).toContain('RDS said "not enough space"');
    expect(await h.rds.getDisk('pvc-big')).toBeUndefined(); // same connection still answers
  });

  it('adds a disk already exported in the one /disk/add (and its allowed hosts when given)', async () => {
    const before = h.sim.stats();
    const disk = await h.rds.addDisk({
      slot: 'pvc-x',
      filePath: '/pool/vols/pvc-x.img',
      fileSizeBytes: GiB,
      export: { port: 4420, nqn: 'nqn.2026-11.io.rds-csi:pvc-x', allowHostName: 'rds-csi:no-host-attached' },
    });
    expect(disk).toMatchObject({
      nvmeTcpExport: true,
      nvmeTcpPort: 4420,
      nvmeTcpNqn: 'nqn.2026-11.io.rds-csi:pvc-x',
      allowHostName: 'rds-csi:no-host-attached',
    });
    const after = h.sim.stats();
    expect((after['/disk/add'] ?? 0) - (before['/disk/add'] ?? 0)).toBe(1);
    expect(after['/disk/set']).toBe(before['/disk/set']);
  });

  it.each([
    { what: 'RDS resolves the name: one /file/remove', namesResolve: true, commands: [{ '/file/remove': 1 }, { '/file/remove': 1 }] },
    {
      // Simulated by a `no such item` answer to the by-name removal while the file exists: from then on by id.
      what: 'RDS does not resolve names: a look-up and removal by id, and every later removal goes by id at once',
      namesResolve: false,
      commands: [
        { '/file/remove': 2, '/file/print': 1 },
        { '/file/remove': 1, '/file/print': 1 },
      ],
    },
  ])('removeFileAt: $what', async ({ namesResolve, commands }) => {
    for (const [i, slot] of ['pvc-f1', 'pvc-f2'].entries()) {
      const d = await h.rds.addDisk({ slot, filePath: `/pool/vols/${slot}.img`, fileSizeBytes: GiB });
      await h.rds.removeDisk(d.id);
      if (!namesResolve && i === 0) h.sim.faults.trapNext('/file/remove', 'no such item', 1, 0);
      const before = h.sim.stats();
      expect(await h.rds.removeFileAt(`/pool/vols/${slot}.img`)).toBe(true);
      const after = h.sim.stats();
      const used = Object.fromEntries(
        Object.keys(after)
          .filter((k) => after[k] !== before[k])
          .map((k) => [k, after[k] - (before[k] ?? 0)]),
      );
      expect(used).toEqual(commands[i]);
      expect(await h.rds.getFile(`/pool/vols/${slot}.img`)).toBeUndefined();
    }
    expect(await h.rds.removeFileAt('/pool/vols/pvc-f1.img')).toBe(false); // already gone
  });

  it('rejects bad arguments before talking to RDS', async () => {
    await expect(h.rds.addDisk({ slot: 's', filePath: '/pool/s.img', fileSizeBytes: 1.5 })).rejects.toMatchObject({
      kind: 'invalid',
    });
    await expect(h.rds.setExport('*1', { port: 0, nqn: 'n' })).rejects.toMatchObject({ kind: 'invalid' });
  });
});
