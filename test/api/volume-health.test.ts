import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startHarness, type Harness } from '../support/controller-harness';
import { MOUNT_RWO } from '../support/csi-client';
import { WireClient } from '../support/wire-client';

/**
 * Issue 15 item 5: ListVolumes and ControllerGetVolume report each volume's condition from RDS, produced for real
 * on the simulator over TCP (disk removed behind the driver, export turned off or pointed elsewhere with /disk set,
 * the pool filled with real bytes, the pool unmounted, RDS down), with the metrics per condition.
 */
const MiB = 1024 * 1024;
const POOL = 64 * MiB;

type Cond = { abnormal: boolean; message: string };

describe('volume health from RDS', () => {
  let h: Harness;
  let wire: WireClient;
  const ids: Record<string, string> = {};

  const create = async (name: string): Promise<string> =>
    (await h.client.ctl('CreateVolume', { name, capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [MOUNT_RWO] }, 20000)).volume
      .volumeId as string;
  const listed = async (): Promise<Map<string, Cond>> => {
    const res = await h.client.ctl('ListVolumes', {}, 20000);
    return new Map(
      (res.entries as { volume: { volumeId: string }; status: { volumeCondition: Cond } }[]).map((e) => [
        e.volume.volumeId,
        e.status.volumeCondition,
      ]),
    );
  };
  const got = async (id: string): Promise<Cond> =>
    (await h.client.ctl('ControllerGetVolume', { volumeId: id }, 20000)).status.volumeCondition as Cond;
  const set = async (slot: string, ...attrs: string[]): Promise<void> => {
    const reply = await wire.call(['/disk/set', `=numbers=${slot}`, ...attrs], 's');
    expect(reply[reply.length - 1][0]).toBe('!done');
  };
  const gauge = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await h.controller!.metrics.volumesByCondition.get()).values.map((v) => [String(v.labels.condition), v.value]));
  const reports = async (condition: string): Promise<number> =>
    (await h.controller!.metrics.volumeConditionReports.get()).values.find((v) => v.labels.condition === condition)?.value ?? 0;

  beforeAll(async () => {
    // statusCacheMs 0: every report reads the pool again, so each test sees its own change at once.
    h = await startHarness({ sim: { poolSizeBytes: POOL }, overrides: { 'rds.statusCacheMs': 0 } });
    wire = await WireClient.connect(h.sim.port);
    await wire.login('admin', 'secret');
    for (const n of ['healthy', 'removed', 'unexported', 'elsewhere']) ids[n] = await create(`health-${n}`);
  });
  afterAll(async () => {
    wire.close();
    await h.stop();
  });

  it('every volume is normal while RDS shows its disk exported as recorded', async () => {
    const all = await listed();
    for (const id of Object.values(ids)) expect(all.get(id)).toEqual({ abnormal: false, message: 'disk present and exported on RDS' });
    expect(await got(ids.healthy)).toEqual({ abnormal: false, message: 'disk present and exported on RDS' });
    expect((await gauge()).normal).toBe(4);
  });

  it('one /disk/print per ListVolumes page, not one per volume', async () => {
    const before = h.sim.stats()['/disk/print'] ?? 0;
    await listed();
    // The page's disks (one print) and the pool reading (one print: the cache is off in this test).
    expect((h.sim.stats()['/disk/print'] ?? 0) - before).toBe(2);
  });

  it('reports a disk removed behind the driver, an export turned off and an export pointing elsewhere', async () => {
    const removed = h.sim.disks().find((d) => d.slot === ids.removed)!;
    await wire.call(['/disk/remove', `=.id=${removed.id}`], 'r');
    await set(ids.unexported, '=nvme-tcp-export=no');
    await set(ids.elsewhere, '=nvme-tcp-server-nqn=nqn.2000-01.org.example:someone-else');
    const all = await listed();
    const expected: [string, RegExp][] = [
      ['healthy', /^disk present and exported on RDS$/],
      ['removed', /is missing on RDS/],
      ['unexported', /is not exported over NVMe\/TCP/],
      ['elsewhere', /is exported as nqn\.2000-01\.org\.example:someone-else, not /],
    ];
    for (const [name, message] of expected) {
      expect(all.get(ids[name])?.message).toMatch(message);
      expect(all.get(ids[name])?.abnormal).toBe(name !== 'healthy');
      expect((await got(ids[name])).message).toMatch(message);
    }
    expect(await gauge()).toMatchObject({ normal: 1, missing: 1, 'export-off': 1, 'export-mismatch': 1 });
    expect(await reports('missing')).toBeGreaterThanOrEqual(2);
    // Put them right again for the pool tests.
    await set(ids.unexported, '=nvme-tcp-export=yes');
    await set(ids.elsewhere, `=nvme-tcp-server-nqn=${h.cfg.nqnPrefix}:${ids.elsewhere}`);
    expect((await got(ids.elsewhere)).abnormal).toBe(false);
  });

  it('reports the pool nearly full (real bytes written to it), then normal again once freed', async () => {
    const filler = path.join(h.sim.dataDir, h.sim.poolName, 'filler.bin');
    writeFileSync(filler, Buffer.alloc(62 * MiB, 1));
    try {
      await new Promise((r) => setTimeout(r, 300)); // the simulator's own capacity cache (250 ms)
      const c = await got(ids.healthy);
      expect(c.abnormal).toBe(true);
      expect(c.message).toMatch(/the RDS pool is 9\d\.\d% full \(threshold 95%\)/);
      expect((await listed()).get(ids.healthy)?.message).toMatch(/% full/);
      expect((await gauge())['pool-full']).toBeGreaterThanOrEqual(1);
    } finally {
      rmSync(filler);
    }
    await new Promise((r) => setTimeout(r, 300));
    expect((await got(ids.healthy)).abnormal).toBe(false);
  });

  it('reports the pool not mounted', async () => {
    const r = await wire.call(['/simulator/pool/set', '=mounted=no'], 'p');
    expect(r[r.length - 1][0]).toBe('!done');
    try {
      const c = await got(ids.healthy);
      expect(c).toEqual({ abnormal: true, message: expect.stringMatching(/^the RDS pool is not mounted: .*mount-point=pool/) });
      expect((await listed()).get(ids.healthy)?.message).toMatch(/pool is not mounted/);
      expect((await gauge())['pool-unmounted']).toBe(3);
    } finally {
      h.sim.setPoolMounted(true);
    }
    expect((await got(ids.healthy)).abnormal).toBe(false);
  });

  it('a deleted volume no longer counts', async () => {
    await h.client.ctl('DeleteVolume', { volumeId: ids.removed }, 20000);
    const g = await gauge();
    expect(Object.values(g).reduce((a, b) => a + b, 0)).toBe(3);
    delete ids.removed;
  });

  it('answers ListVolumes from the records while RDS is unreachable, every volume abnormal "RDS unreachable"', async () => {
    await h.sim.faults.setDown(true);
    try {
      const all = await listed();
      expect(all.size).toBe(3);
      for (const id of [ids.healthy, ids.unexported, ids.elsewhere])
        expect(all.get(id)).toEqual({ abnormal: true, message: expect.stringMatching(/^health unknown: RDS unreachable \(/) });
      expect((await got(ids.healthy)).message).toMatch(/RDS unreachable/);
      expect((await gauge())['rds-unreachable']).toBe(3);
      expect(await reports('rds-unreachable')).toBeGreaterThanOrEqual(4);
    } finally {
      await h.sim.faults.setDown(false);
    }
  });
});
