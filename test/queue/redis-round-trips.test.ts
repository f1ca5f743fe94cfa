import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { MOUNT_RWO } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { waitFor } from '../support/wait';

/**
 * The Redis round trips of one CreateVolume through the real controller and its worker, on the test's own
 * redis-server, counted with MONITOR (every command a client sends is one line; commands a script runs are tagged
 * `lua` and are not round trips). Each side has an upper bound, so a change that adds a round trip fails here.
 *
 * Who sent a command is told from its connection: the one that ran XREAD is the controller's QueueEvents, the one
 * that ran BZPOPMIN the worker's blocking fetch, the one that ran the record claim (always the first command of a
 * create) the controller's; any other connection is the worker's (its BullMQ scripts, the lease, its record reads).
 */

const MiB = 1024 * 1024;

/**
 * Per side, for a create that runs `jobs` jobs (BullMQ's add script increments `<prefix>:volumes:id` once per add,
 * so the trace itself says how many). Controller: the record claim and the record marked ready, plus one add per
 * job (no look-up before it: the generation is new; none after it: the finish comes from the shared events
 * stream). Worker: per job BullMQ's moveToActive, the empty fetch its base marker causes (addBaseMarkerIfNeeded in
 * prepareJobForProcessing.lua, bullmq 5.81) and the one after that wake-up, the lease taken and released, one step
 * mark, moveToFinished (measured 7 for the first job, 6 for the second). Events: one XREAD per batch, at most the
 * job's added, waiting, active and completed events (a step mark sends none: worker-host.ts MARK_STEPS). Fetch: the
 * BZPOPMIN that wakes and the one that blocks again.
 */
const BOUNDS = {
  controller: (jobs: number) => 2 + jobs,
  worker: (jobs: number) => 7 * jobs,
  events: (jobs: number) => 4 * jobs,
  fetch: (jobs: number) => 2 * jobs,
};
type Side = keyof typeof BOUNDS;

interface Line {
  source: string;
  command: string;
}

describe('Redis round trips of one CreateVolume', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      // No lock renewal, stalled check or lease renewal inside the measured create: only its own commands count.
      overrides: { 'worker.lockMs': 60000, 'worker.stalledIntervalMs': 60000, 'worker.leaseMs': 30000 },
    });
  });
  afterAll(async () => {
    await h.stop();
  });

  async function queueIdle(): Promise<void> {
    const queue = new Queue(VOLUME_QUEUE, { connection: { url: h.redis.url }, prefix: h.cfg.queuePrefix });
    try {
      await waitFor(
        async () => {
          const c = await queue.getJobCounts('waiting', 'active', 'prioritized'); // delayed: the schedulers' next runs;
          return Object.values(c).every((n) => n === 0);
        },
        10000,
        'the queue to go idle',
      );
    } finally {
      await queue.close();
    }
    // Let the worker's fetch loop settle into its blocking wait.
    await new Promise((r) => setTimeout(r, 300));
  }

  const create = (name: string): Promise<unknown> =>
    h.client.ctl('CreateVolume', { name, capacityRange: { requiredBytes: String(8 * MiB) }, volumeCapabilities: [MOUNT_RWO] }, 20000);

  async function traced(fn: () => Promise<unknown>): Promise<Line[]> {
    const base = new Redis(h.redis.url, { maxRetriesPerRequest: 1 });
    const monitor = await base.monitor();
    const lines: Line[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      const [cmd = '', ...rest] = args;
      const key = /^eval/i.test(cmd) ? (rest[2] ?? '') : (rest[0] ?? '');
      lines.push({ source, command: `${cmd.toLowerCase()} ${key}` });
    });
    try {
      await fn();
      // The worker's last script (moveToFinished) ran before the controller heard of the finish; its fetch loop may
      // still be re-arming: let that in too, so the count is the whole cycle.
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      monitor.disconnect();
      base.disconnect();
    }
    return lines;
  }

  function bySide(lines: Line[]): Record<Side, number> {
    const sent = lines.filter((l) => l.source !== 'lua');
    const role = new Map<string, Side>();
    const claim = sent[0];
    if (claim) role.set(claim.source, 'controller');
    for (const l of sent) {
      if (l.command.startsWith('xread')) role.set(l.source, 'events');
      else if (l.command.startsWith('bzpopmin')) role.set(l.source, 'fetch');
    }
    const out: Record<Side, number> = { controller: 0, worker: 0, events: 0, fetch: 0 };
    for (const l of sent) out[role.get(l.source) ?? 'worker']++;
    return out;
  }

  it('one create stays within the bound on every side (controller, worker, events, blocking fetch)', async () => {
    // Warm-up: connections, scripts loaded, the events stream flowing, the start-up reconcile done.
    await create('pvc-rt-warmup');
    await queueIdle();

    const lines = await traced(() => create('pvc-rt-measured'));
    const counts = bySide(lines);
    const trace = lines.map((l) => `${l.source === 'lua' ? '    lua' : l.source} ${l.command}`).join('\n');
    // The claim is the first thing a create does, on the controller's connection.
    expect(lines[0]?.command).toMatch(/^eval\S* \S+:state:vol:/);
    const jobs = lines.filter((l) => l.source === 'lua' && /^incr \S+:volumes:id$/.test(l.command)).length;
    expect(jobs).toBeGreaterThan(0);
    if (process.env.RT_PRINT) process.stdout.write(`${JSON.stringify({ jobs, ...counts })}\n`);
    for (const side of Object.keys(BOUNDS) as Side[]) {
      const bound = BOUNDS[side](jobs);
      if (counts[side] > bound)
        throw new Error(`${side}: ${counts[side]} round trips > ${bound} for ${jobs} jobs; counts ${JSON.stringify(counts)}\n${trace}`);
    }
    expect(counts.controller).toBeGreaterThan(0);
    expect(counts.worker).toBeGreaterThan(0);
  });

  it('a step mark is written to the job hash without a progress event (nothing reads one; each woke the controller)', async () => {
    await create('pvc-rt-steps');
    const queue = new Queue(VOLUME_QUEUE, { connection: { url: h.redis.url }, prefix: h.cfg.queuePrefix });
    const redis = new Redis(h.redis.url, { maxRetriesPerRequest: 1 });
    try {
      const jobs = (await queue.getJobs(['completed'])).filter((j) => j.name === 'disk.create');
      expect(jobs.length).toBeGreaterThan(0);
      // The mark the crash path reads (ensure-disk.ts ADD_ISSUED) is in every create job's hash.
      for (const j of jobs) expect(j.progress).toEqual({ steps: ['add-issued'] });
      const stream = await redis.xrange(`${h.cfg.queuePrefix}:${VOLUME_QUEUE}:events`, '-', '+');
      const events = stream.map(([, fields]) => fields[fields.indexOf('event') + 1]);
      expect(events).toContain('completed');
      expect(events).not.toContain('progress');
    } finally {
      redis.disconnect();
      await queue.close();
    }
  });
});
