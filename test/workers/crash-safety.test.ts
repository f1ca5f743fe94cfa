import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MOUNT_RWO, CsiClient, codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { spawnCli, type CliProcess } from '../support/processes';
import { waitFor } from '../support/wait';
import { waitForSockets } from '../../src/runtime/wait-sockets';
import { volumeIdFromName } from '../../src/domain/ids';

/**
 * Crash safety and high availability with real processes: `rds-csi worker` and `rds-csi controller` children on
 * one redis-server, the simulator slowed down so a job is caught in flight.
 */
const MiB = 1024 * 1024;
const req = (name: string) => ({ name, capacityRange: { requiredBytes: String(8 * MiB) }, volumeCapabilities: [MOUNT_RWO] });

describe('crash safety and HA across processes', () => {
  let h: Harness;
  const procs: CliProcess[] = [];
  const clients: CsiClient[] = [];

  function env(): Record<string, string> {
    return {
      RDS_CSI_RDS_PASSWORD: 'secret',
      RDS_CSI_WORKER_LOCK_MS: '2000',
      RDS_CSI_WORKER_STALLED_INTERVAL_MS: '500',
      RDS_CSI_WORKER_LEASE_MS: '2000',
      RDS_CSI_WORKER_BACKOFF_MS: '100',
      RDS_CSI_RDS_CALL_TIMEOUT_MS: '5000',
    };
  }
  const common = (): string[] => ['--redis-url', h.redis.url, '--rds-address', `${h.sim.host}:${h.sim.port}`, '--log-level', 'info'];

  async function worker(): Promise<CliProcess> {
    const p = await spawnCli(['worker', ...common()], env(), /worker ready/);
    procs.push(p);
    return p;
  }
  async function controller(name: string, withWorker: boolean): Promise<{ proc: CliProcess; client: CsiClient }> {
    const endpoint = `unix://${path.join(h.dir, `${name}.sock`)}`;
    const proc = await spawnCli(
      ['controller', '--endpoint', endpoint, ...(withWorker ? ['--with-worker'] : []), ...common()],
      env(),
      /controller ready/,
    );
    procs.push(proc);
    await waitForSockets([endpoint], 10000);
    const client = new CsiClient(endpoint);
    clients.push(client);
    return { proc, client };
  }

  beforeAll(async () => {
    h = await startHarness({ controller: false });
  });
  afterEach(async () => {
    h.sim.faults.set({ latencyMs: 0 });
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(procs.splice(0).map((p) => p.kill('SIGKILL')));
  });
  afterAll(async () => {
    await h.stop();
  });

  it('a worker SIGKILLed in the middle of disk.create: the job completes on another worker, one disk', async () => {
    const { client } = await controller('c1', false);
    const a = await worker();
    h.sim.faults.set({ latencyMs: 300 });
    const before = h.sim.stats()['/disk/print'] ?? 0;
    const pending = client.ctl('CreateVolume', req('crash-create'), 60000);
    await waitFor(() => (h.sim.stats()['/disk/print'] ?? 0) > before, 10000, 'disk.create to reach RDS');
    await a.kill('SIGKILL');
    await worker();
    const res = await pending;
    expect(res.volume.capacityBytes).toBe(String(8 * MiB));
    const disks = h.sim.disks().filter((d) => d.slot === res.volume.volumeId);
    expect(disks).toHaveLength(1);
    expect(disks[0].nvmeTcpExport).toBe(true);
  });

  it('a worker SIGKILLed after its /disk/add (step mark set): the retry finds the disk by slot and finishes, exported, one disk', async () => {
    const { client } = await controller('c-add', false);
    const a = await worker();
    h.sim.faults.set({ latencyMs: 400 }); // every command waits before it runs: the kill lands before the confirming print
    const volumeId = volumeIdFromName('crash-after-add', h.cfg.volumePrefix);
    const pending = client.ctl('CreateVolume', req('crash-after-add'), 60000);
    await waitFor(() => h.sim.disks().some((d) => d.slot === volumeId), 10000, 'the /disk/add to run on RDS');
    await a.kill('SIGKILL');
    const redis = new Redis(h.redis.url);
    const queue = new Queue('volumes', { connection: redis, prefix: h.cfg.queuePrefix });
    try {
      const job = (await queue.getJobs(['active', 'waiting', 'delayed'])).find((j) => j?.name === 'disk.create' && j.data.volumeId === volumeId);
      expect(job?.progress).toEqual({ steps: ['add-issued'] }); // what the retry goes by
      const after = h.sim.stats();
      await worker();
      const res = await pending;
      expect(res.volume.volumeId).toBe(volumeId);
      const disks = h.sim.disks().filter((d) => d.slot === volumeId);
      expect(disks).toHaveLength(1);
      expect(disks[0]).toMatchObject({ nvmeTcpExport: true, nvmeTcpServerNqn: `${h.cfg.nqnPrefix}:${volumeId}` });
      // The retry looked the disk up by slot; it did not add again nor look at the file.
      const now = h.sim.stats();
      expect((now['/disk/add'] ?? 0) - (after['/disk/add'] ?? 0)).toBe(0);
      expect((now['/file/print'] ?? 0) - (after['/file/print'] ?? 0)).toBe(0);
      const done = await queue.getJob(job!.id!);
      expect(done?.finishedOn).toBeDefined();
      expect(done?.attemptsMade).toBeGreaterThanOrEqual(1);
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });

  it('two controllers receive the same CreateVolume at once: one disk, both callers get the same volume', async () => {
    const c1 = await controller('ha1', true);
    const c2 = await controller('ha2', true);
    h.sim.faults.set({ latencyMs: 50 });
    const [r1, r2] = await Promise.all([
      c1.client.ctl('CreateVolume', req('ha-volume'), 30000),
      c2.client.ctl('CreateVolume', req('ha-volume'), 30000),
    ]);
    expect(r1.volume).toEqual(r2.volume);
    expect(h.sim.disks().filter((d) => d.slot === r1.volume.volumeId)).toHaveLength(1);
  });

  it('a controller killed while awaiting a job loses nothing: the retry on another controller returns the result', async () => {
    const a = await controller('dying', false);
    const b = await controller('survivor', false);
    await worker();
    h.sim.faults.set({ latencyMs: 300 });
    const before = h.sim.stats()['/disk/print'] ?? 0;
    const lost = codeOf(a.client.ctl('CreateVolume', req('orphaned-call'), 60000));
    await waitFor(() => (h.sim.stats()['/disk/print'] ?? 0) > before, 10000, 'the job to start');
    await a.proc.kill('SIGKILL');
    expect((await lost).code).toBeDefined(); // the caller saw the connection die
    const res = await b.client.ctl('CreateVolume', req('orphaned-call'), 60000);
    expect(res.volume.capacityBytes).toBe(String(8 * MiB));
    expect(h.sim.disks().filter((d) => d.slot === res.volume.volumeId)).toHaveLength(1);
  });

  it('DeleteVolume through a separate worker process removes disk and file', async () => {
    const { client } = await controller('del', false);
    await worker();
    const res = await client.ctl('CreateVolume', req('worker-delete'), 30000);
    await client.ctl('DeleteVolume', { volumeId: res.volume.volumeId }, 30000);
    expect(h.sim.disks().filter((d) => d.slot === res.volume.volumeId)).toHaveLength(0);
  });

  it('a worker SIGKILLed during a long copy-from: the snapshot completes once, no stray copies', async () => {
    const { client } = await controller('snap', false);
    await worker();
    const src = (await client.ctl('CreateVolume', req('snap-crash-src'), 30000)).volume.volumeId as string;
    const a = procs[procs.length - 1];
    writeFileSync(path.join(h.sim.dataDir, 'pool/rds-csi', `${src}.img`), Buffer.alloc(64 * 1024, 7), { flag: 'r+' }); // data to copy
    h.sim.faults.set({ copyBytesPerSecond: 1 }); // the copy stays in flight until released
    const first = await client.ctl('CreateSnapshot', { name: 'snap-crash', sourceVolumeId: src }, 2000);
    expect(first.snapshot.readyToUse).toBe(false);
    await waitFor(() => h.sim.copies().length === 1, 10000, 'the copy to start on RDS');
    await a.kill('SIGKILL');
    await worker();
    h.sim.faults.set({ copyBytesPerSecond: 0 });
    let res = first;
    for (let i = 0; i < 100 && !res.snapshot.readyToUse; i++) {
      await new Promise((r) => setTimeout(r, 200));
      res = await client.ctl('CreateSnapshot', { name: 'snap-crash', sourceVolumeId: src }, 2000);
    }
    expect(res.snapshot.readyToUse).toBe(true);
    const snapDisks = h.sim.disks().filter((d) => d.slot.startsWith('snap-'));
    expect(snapDisks.map((d) => d.slot)).toEqual([first.snapshot.snapshotId]);
    expect(h.sim.copies()).toHaveLength(0);
    const files = readdirSync(path.join(h.sim.dataDir, 'pool/rds-csi/snapshots'));
    expect(files).toEqual([`${first.snapshot.snapshotId}.img`]);
  }, 60000);
});
