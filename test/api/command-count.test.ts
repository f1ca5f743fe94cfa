import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { MOUNT_RWO } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { waitFor } from '../support/wait';

/**
 * What one CreateVolume and one DeleteVolume cost on RDS (issue 14): the RouterOS commands the simulator received
 * (its own per-command counters), through the real controller and worker over TCP, and the queue jobs. Exact
 * counts per command word: a change that adds a command fails here and has to say why. The Go rds-csi driver's
 * create is 3 commands (print, one `/disk add` that exports too, verify); ours is the same.
 */
const MiB = 1024 * 1024;
const req = (name: string) => ({ name, capacityRange: { requiredBytes: String(8 * MiB) }, volumeCapabilities: [MOUNT_RWO] });

type Counts = Record<string, number>;

function delta(before: Counts, after: Counts): Counts {
  const out: Counts = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

describe('RouterOS commands per CreateVolume and DeleteVolume', () => {
  let h: Harness;
  let redis: Redis;
  let queue: Queue;
  const ids = new Map<string, string>();

  beforeAll(async () => {
    // A long pool-reading TTL: the measured create is a steady-state one (the warm-up below read the pool).
    h = await startHarness({ overrides: { 'worker.poolReadingTtlMs': 600000, 'fencing.reconcileIntervalMs': 3600000 } });
    redis = new Redis(h.redis.url);
    queue = new Queue('volumes', { connection: redis, prefix: h.cfg.queuePrefix });
    // Warm-up: the worker's first pool reading, and the start-up reconcilers, are not part of a create.
    ids.set('warm', (await h.client.ctl('CreateVolume', req('count-warm'), 30000)).volume.volumeId as string);
    let last = JSON.stringify(h.sim.stats());
    await waitFor(
      async () => {
        await new Promise((r) => setTimeout(r, 300));
        const now = JSON.stringify(h.sim.stats());
        const quiet = now === last;
        last = now;
        return quiet;
      },
      20000,
      'the start-up reconcilers to finish talking to RDS',
    );
  });
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await h.stop();
  });

  const cases: Array<{ what: string; run: () => Promise<unknown>; commands: Counts; jobs?: string[]; volume?: string }> = [
    {
      what: 'a plain CreateVolume: look at the file, one add that exports, one confirming print',
      run: async () => ids.set('a', (await h.client.ctl('CreateVolume', req('count-a'), 30000)).volume.volumeId as string),
      commands: { '/file/print': 1, '/disk/add': 1, '/disk/print': 1 },
      jobs: ['disk.create'],
      volume: 'a',
    },
    {
      what: 'the same CreateVolume again (the volume is ready): nothing on RDS',
      run: () => h.client.ctl('CreateVolume', req('count-a'), 30000),
      commands: {},
    },
    {
      what: 'a DeleteVolume: find the disk, remove it, remove its file by name',
      run: () => h.client.ctl('DeleteVolume', { volumeId: ids.get('a') }, 30000),
      commands: { '/disk/print': 1, '/disk/remove': 1, '/file/remove': 1 },
    },
    {
      what: 'the same DeleteVolume again (no record, nothing on RDS): two looks, nothing removed',
      run: () => h.client.ctl('DeleteVolume', { volumeId: ids.get('a') }, 30000),
      commands: { '/disk/print': 1, '/file/print': 1 },
    },
  ];

  it.each(cases.map((c) => [c.what, c] as const))('%s', async (_what, c) => {
    const before = h.sim.stats();
    await c.run();
    const used = delta(before, h.sim.stats());
    expect(used).toEqual(c.commands);
    expect(Object.values(used).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(3);
    if (c.jobs && c.volume) {
      const volumeId = ids.get(c.volume);
      const jobs = await queue.getJobs(['completed', 'failed', 'delayed', 'waiting', 'active']);
      const mine = jobs.filter((j) => (j?.data as { volumeId?: string } | undefined)?.volumeId === volumeId).map((j) => j.name);
      expect(mine).toEqual(c.jobs);
    }
  });

  it('the created disk is exported with its NQN and port, in that one add', () => {
    const disk = h.sim.disks().find((d) => d.slot === ids.get('warm'));
    expect(disk).toMatchObject({ nvmeTcpExport: true, nvmeTcpServerPort: h.cfg.rds.exportPort });
    expect(disk?.nvmeTcpServerNqn).toBe(`${h.cfg.nqnPrefix}:${ids.get('warm')}`);
  });
});
