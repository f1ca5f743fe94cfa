import { status } from '@grpc/grpc-js';
import { openSync, readSync, statSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { BLOCK_RWX, MOUNT_RWO, codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';

/** Snapshots, restores, clones and expansion through the queue, against redis-server and the simulator. */
const MiB = 1024 * 1024;

describe('snapshots, clones and expansion', () => {
  let h: Harness;
  const hostFile = (filePath: string): string => path.join(h.sim.dataDir, filePath);
  const volumeFile = (id: string): string => hostFile(`pool/rds-csi/${id}.img`);
  const writeAt = (file: string, offset: number, text: string): void => {
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from(text), 0, text.length, offset);
    closeSync(fd);
  };
  const readAt = (file: string, offset: number, len: number): string => {
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, offset);
    closeSync(fd);
    return buf.toString();
  };
  const vol = async (name: string, bytes = 8 * MiB, cap: object = MOUNT_RWO, extra: object = {}) =>
    (await h.client.ctl('CreateVolume', { name, capacityRange: { requiredBytes: String(bytes) }, volumeCapabilities: [cap], ...extra }, 20000))
      .volume;
  const snap = (name: string, sourceVolumeId: string, parameters: Record<string, string> = {}) =>
    h.client.ctl('CreateSnapshot', { name, sourceVolumeId, parameters }, 20000);

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('advertises snapshots, clones and expansion', async () => {
    const types = (await h.client.ctl('ControllerGetCapabilities')).capabilities.map((c: { rpc: { type: string } }) => c.rpc.type);
    expect(types).toEqual(expect.arrayContaining(['CREATE_DELETE_SNAPSHOT', 'LIST_SNAPSHOTS', 'CLONE_VOLUME', 'EXPAND_VOLUME']));
  });

  it('snapshots a volume as an unexported copy and restores its data into a new, larger volume', async () => {
    const source = await vol('snap-source', 8 * MiB);
    writeAt(volumeFile(source.volumeId), 3 * MiB, 'written before the snapshot');
    const res = await snap('snap-1', source.volumeId);
    expect(res.snapshot).toMatchObject({ sourceVolumeId: source.volumeId, sizeBytes: String(8 * MiB), readyToUse: true });
    expect(res.snapshot.snapshotId).toMatch(/^snap-/);
    expect(Number(res.snapshot.creationTime.seconds)).toBeGreaterThan(Date.now() / 1000 - 60);
    const disk = h.sim.disks().find((d) => d.slot === res.snapshot.snapshotId);
    expect(disk).toMatchObject({ nvmeTcpExport: false, filePath: `/pool/rds-csi/snapshots/${res.snapshot.snapshotId}.img` });

    writeAt(volumeFile(source.volumeId), 3 * MiB, 'OVERWRITTEN after the snapshot');
    const restored = await vol('restored-1', 16 * MiB, MOUNT_RWO, { volumeContentSource: { snapshot: { snapshotId: res.snapshot.snapshotId } } });
    expect(restored.contentSource).toMatchObject({ snapshot: { snapshotId: res.snapshot.snapshotId } });
    expect(restored.capacityBytes).toBe(String(16 * MiB));
    expect(readAt(volumeFile(restored.volumeId), 3 * MiB, 27)).toBe('written before the snapshot');
    expect(statSync(volumeFile(restored.volumeId)).size).toBe(16 * MiB);
    expect(h.sim.disks().find((d) => d.slot === restored.volumeId)?.nvmeTcpExport).toBe(true);
  });

  it('clones a volume with its data; the source must exist', async () => {
    const source = await vol('clone-source', 4 * MiB, BLOCK_RWX);
    writeAt(volumeFile(source.volumeId), 0, 'clone me');
    const clone = await vol('clone-1', 4 * MiB, BLOCK_RWX, { volumeContentSource: { volume: { volumeId: source.volumeId } } });
    expect(clone.contentSource).toMatchObject({ volume: { volumeId: source.volumeId } });
    expect(readAt(volumeFile(clone.volumeId), 0, 8)).toBe('clone me');
    // A request below the source's size gets the source's size; a limit below it is OUT_OF_RANGE.
    const small = await vol('clone-small', MiB, BLOCK_RWX, { volumeContentSource: { volume: { volumeId: source.volumeId } } });
    expect(small.capacityBytes).toBe(String(4 * MiB));
    const limited = await codeOf(
      h.client.ctl('CreateVolume', {
        name: 'clone-limited',
        capacityRange: { limitBytes: String(2 * MiB) },
        volumeCapabilities: [BLOCK_RWX],
        volumeContentSource: { volume: { volumeId: source.volumeId } },
      }),
    );
    expect(limited.code).toBe(status.OUT_OF_RANGE);
    // Same name with another source is another volume.
    const other = await codeOf(
      h.client.ctl('CreateVolume', { name: 'clone-1', capacityRange: { requiredBytes: String(4 * MiB) }, volumeCapabilities: [BLOCK_RWX] }),
    );
    expect(other.code).toBe(status.ALREADY_EXISTS);
  });

  it('is idempotent and answers the CSI error codes of CreateSnapshot', async () => {
    const source = await vol('snap-codes', 2 * MiB);
    const other = await vol('snap-codes-other', 2 * MiB);
    const first = await snap('snap-codes-1', source.volumeId);
    const again = await snap('snap-codes-1', source.volumeId);
    expect(again.snapshot).toEqual(first.snapshot);
    const concurrent = await Promise.all([snap('snap-codes-2', source.volumeId), snap('snap-codes-2', source.volumeId)]);
    expect(concurrent[0].snapshot.snapshotId).toBe(concurrent[1].snapshot.snapshotId);
    expect(h.sim.disks().filter((d) => d.slot === concurrent[0].snapshot.snapshotId)).toHaveLength(1);
    const cases: Array<[object, status, RegExp]> = [
      [{ name: 'snap-codes-1', sourceVolumeId: other.volumeId }, status.ALREADY_EXISTS, /exists for volume/],
      [{ name: 'x', sourceVolumeId: 'vol-missing-000000000000' }, status.NOT_FOUND, /does not exist/],
      [{ name: '', sourceVolumeId: source.volumeId }, status.INVALID_ARGUMENT, /name is required/],
      [{ name: 'x', sourceVolumeId: '' }, status.INVALID_ARGUMENT, /source_volume_id is required/],
      [{ name: 'x', sourceVolumeId: source.volumeId, parameters: { snapshotPath: '/elsewhere' } }, status.INVALID_ARGUMENT, /under the base path/],
      [
        { name: 'x', sourceVolumeId: source.volumeId, parameters: { snapshotPath: '/pool/rds-csi/../x' } },
        status.INVALID_ARGUMENT,
        /under the base path/,
      ],
      [
        { name: 'x', sourceVolumeId: source.volumeId, parameters: { color: 'red' } },
        status.INVALID_ARGUMENT,
        /unknown VolumeSnapshotClass parameter/,
      ],
    ];
    for (const [req, code, message] of cases) {
      const res = await codeOf(h.client.ctl('CreateSnapshot', req));
      expect({ req, code: res.code }).toEqual({ req, code });
      expect(res.details).toMatch(message);
    }
    const custom = await snap('snap-custom-dir', source.volumeId, { snapshotPath: '/pool/rds-csi/backups' });
    expect(h.sim.disks().find((d) => d.slot === custom.snapshot.snapshotId)?.filePath).toBe(
      `/pool/rds-csi/backups/${custom.snapshot.snapshotId}.img`,
    );
  });

  it('never takes a snapshot id for a volume id or the reverse', async () => {
    const source = await vol('id-kinds', MiB);
    const s = await snap('id-kinds-snap', source.volumeId);
    expect((await codeOf(h.client.ctl('ControllerGetVolume', { volumeId: s.snapshot.snapshotId }))).code).toBe(status.NOT_FOUND);
    await h.client.ctl('DeleteVolume', { volumeId: s.snapshot.snapshotId });
    expect(h.sim.disks().find((d) => d.slot === s.snapshot.snapshotId)).toBeDefined();
    await h.client.ctl('DeleteSnapshot', { snapshotId: source.volumeId });
    expect(h.sim.disks().find((d) => d.slot === source.volumeId)).toBeDefined();
    const restore = await codeOf(
      h.client.ctl('CreateVolume', {
        name: 'wrong-kind',
        volumeCapabilities: [MOUNT_RWO],
        volumeContentSource: { snapshot: { snapshotId: source.volumeId } },
      }),
    );
    expect(restore.code).toBe(status.NOT_FOUND);
  });

  it('lists snapshots with filters and pagination', async () => {
    const a = await vol('list-a', MiB);
    const b = await vol('list-b', MiB);
    const made = [await snap('list-a-1', a.volumeId), await snap('list-a-2', a.volumeId), await snap('list-b-1', b.volumeId)].map(
      (r) => r.snapshot.snapshotId,
    );
    const byA = await h.client.ctl('ListSnapshots', { sourceVolumeId: a.volumeId });
    expect(byA.entries.map((e: { snapshot: { snapshotId: string } }) => e.snapshot.snapshotId).sort()).toEqual(made.slice(0, 2).sort());
    const byId = await h.client.ctl('ListSnapshots', { snapshotId: made[2] });
    expect(byId.entries).toHaveLength(1);
    expect(byId.entries[0].snapshot).toMatchObject({ sourceVolumeId: b.volumeId, readyToUse: true });
    expect((await h.client.ctl('ListSnapshots', { snapshotId: 'snap-unknown-000000000000' })).entries).toHaveLength(0);
    expect((await h.client.ctl('ListSnapshots', { snapshotId: made[2], sourceVolumeId: a.volumeId })).entries).toHaveLength(0);
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await h.client.ctl('ListSnapshots', { maxEntries: 1, startingToken: token });
      expect(page.entries.length).toBeLessThanOrEqual(1);
      seen.push(...page.entries.map((e: { snapshot: { snapshotId: string } }) => e.snapshot.snapshotId));
      token = page.nextToken;
      pages++;
    } while (token && pages < 100);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(made));
    expect((await codeOf(h.client.ctl('ListSnapshots', { startingToken: 'bogus' }))).code).toBe(status.ABORTED);
  });

  it('deletes a snapshot with its file; repeats are OK', async () => {
    const source = await vol('del-snap-src', MiB);
    const s = await snap('del-snap', source.volumeId);
    const file = hostFile(`pool/rds-csi/snapshots/${s.snapshot.snapshotId}.img`);
    expect(statSync(file).size).toBe(MiB);
    await h.client.ctl('DeleteSnapshot', { snapshotId: s.snapshot.snapshotId });
    expect(h.sim.disks().find((d) => d.slot === s.snapshot.snapshotId)).toBeUndefined();
    expect(() => statSync(file)).toThrow();
    await h.client.ctl('DeleteSnapshot', { snapshotId: s.snapshot.snapshotId });
    expect((await codeOf(h.client.ctl('DeleteSnapshot', { snapshotId: '' }))).code).toBe(status.INVALID_ARGUMENT);
    // Restoring from a deleted snapshot is NOT_FOUND.
    const res = await codeOf(
      h.client.ctl('CreateVolume', {
        name: 'from-deleted',
        volumeCapabilities: [MOUNT_RWO],
        volumeContentSource: { snapshot: { snapshotId: s.snapshot.snapshotId } },
      }),
    );
    expect(res.code).toBe(status.NOT_FOUND);
  });

  it('expands a volume on RDS, never shrinks, and says whether the node must grow the filesystem', async () => {
    const fs = await vol('expand-fs', 4 * MiB);
    const grown = await h.client.ctl('ControllerExpandVolume', { volumeId: fs.volumeId, capacityRange: { requiredBytes: String(12 * MiB) } });
    expect(grown).toMatchObject({ capacityBytes: String(12 * MiB), nodeExpansionRequired: true });
    expect(statSync(volumeFile(fs.volumeId)).size).toBe(12 * MiB);
    const again = await h.client.ctl('ControllerExpandVolume', { volumeId: fs.volumeId, capacityRange: { requiredBytes: String(12 * MiB) } });
    expect(again.capacityBytes).toBe(String(12 * MiB));
    const smaller = await h.client.ctl('ControllerExpandVolume', { volumeId: fs.volumeId, capacityRange: { requiredBytes: String(MiB) } });
    expect(smaller.capacityBytes).toBe(String(12 * MiB));
    expect(statSync(volumeFile(fs.volumeId)).size).toBe(12 * MiB);
    expect((await h.client.ctl('ControllerGetVolume', { volumeId: fs.volumeId })).volume.capacityBytes).toBe(String(12 * MiB));

    const block = await vol('expand-block', 4 * MiB, BLOCK_RWX);
    const blockRes = await h.client.ctl('ControllerExpandVolume', { volumeId: block.volumeId, capacityRange: { requiredBytes: String(8 * MiB) } });
    expect(blockRes).toMatchObject({ capacityBytes: String(8 * MiB), nodeExpansionRequired: false });

    const cases: Array<[object, status]> = [
      [{ volumeId: 'vol-missing-000000000000', capacityRange: { requiredBytes: String(MiB) } }, status.NOT_FOUND],
      [{ volumeId: '', capacityRange: { requiredBytes: String(MiB) } }, status.INVALID_ARGUMENT],
      [{ volumeId: fs.volumeId }, status.INVALID_ARGUMENT],
      [{ volumeId: fs.volumeId, capacityRange: { requiredBytes: String(2 ** 50) } }, status.OUT_OF_RANGE],
      [{ volumeId: fs.volumeId, capacityRange: { requiredBytes: String(MiB), limitBytes: String(2 * MiB) } }, status.OUT_OF_RANGE],
    ];
    for (const [req, code] of cases) expect({ req, code: (await codeOf(h.client.ctl('ControllerExpandVolume', req))).code }).toEqual({ req, code });
  });

  it('answers ready_to_use=false while the copy runs, true once it completed', async () => {
    const source = await vol('slow-copy-src', 8 * MiB);
    writeAt(volumeFile(source.volumeId), 0, 'x'.repeat(4096));
    h.sim.faults.set({ copyBytesPerSecond: 1 }); // holds the copy open
    try {
      const first = await h.client.ctl('CreateSnapshot', { name: 'slow-copy', sourceVolumeId: source.volumeId }, 1500);
      expect(first.snapshot).toMatchObject({ readyToUse: false, sourceVolumeId: source.volumeId });
      expect((await h.client.ctl('ListSnapshots', { snapshotId: first.snapshot.snapshotId })).entries[0].snapshot.readyToUse).toBe(false);
      // Restoring from a snapshot that is not ready yet is refused until it is.
      const early = await codeOf(
        h.client.ctl('CreateVolume', {
          name: 'too-early',
          volumeCapabilities: [MOUNT_RWO],
          volumeContentSource: { snapshot: { snapshotId: first.snapshot.snapshotId } },
        }),
      );
      expect(early.code).toBe(status.ABORTED);
      h.sim.faults.set({ copyBytesPerSecond: 0 }); // let it finish
      let ready = first;
      for (let i = 0; i < 40 && !ready.snapshot.readyToUse; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ready = await h.client.ctl('CreateSnapshot', { name: 'slow-copy', sourceVolumeId: source.volumeId }, 1500);
      }
      expect(ready.snapshot).toMatchObject({ readyToUse: true, snapshotId: first.snapshot.snapshotId, sizeBytes: String(8 * MiB) });
      expect(h.sim.disks().filter((d) => d.slot === first.snapshot.snapshotId)).toHaveLength(1);
    } finally {
      h.sim.faults.set({ copyBytesPerSecond: 0 });
    }
  });
});
