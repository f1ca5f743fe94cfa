import { status } from '@grpc/grpc-js';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { volumeIdFromName } from '../../src/domain/ids';
import { MOUNT_RWO, codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { waitFor } from '../support/wait';

/**
 * CreateVolume through an RDS outage (issue 11 items 10 and 11), controller and worker against the simulator's
 * `down` fault (the API port closed, so every connect is refused).
 */
const MiB = 1024 * 1024;
const req = (name: string) => ({ name, capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [MOUNT_RWO] });

async function createJob(queue: Queue, name: string): Promise<Job | undefined> {
  const volumeId = volumeIdFromName(name, '');
  const jobs = await queue.getJobs(['failed', 'delayed', 'waiting', 'active', 'completed']);
  return jobs.find((j) => j?.name === 'disk.create' && (j.data as { volumeId: string }).volumeId === volumeId);
}

describe('a job through an RDS outage (breaker kept closed: the job retries carry the outage)', () => {
  const CAP_MS = 1000;
  let h: Harness;
  let redis: Redis;
  let queue: Queue;
  beforeAll(async () => {
    h = await startHarness({
      overrides: { 'rds.breakerThreshold': 1000, 'worker.attempts': 30, 'worker.backoffMs': 400, 'worker.backoffMaxMs': CAP_MS },
    });
    redis = new Redis(h.redis.url);
    queue = new Queue('volumes', { connection: redis, prefix: h.cfg.queuePrefix });
  });
  afterAll(async () => {
    await queue.close();
    redis.disconnect();
    await h.stop();
  });

  it('backs off at most the cap, so an RDS that answers again is used within it', async () => {
    await h.sim.faults.setDown(true);
    const delays: number[] = [];
    try {
      expect((await codeOf(h.client.ctl('CreateVolume', req('comeback'), 1500))).code).toBe(status.ABORTED);
      // Uncapped, the delay after the 7th failed attempt would be 400 ms · 2^6 = 25.6 s (12.8 s at full jitter).
      await waitFor(
        async () => {
          const job = await createJob(queue, 'comeback');
          if (job?.delay) delays.push(job.delay);
          return (job?.attemptsMade ?? 0) >= 7;
        },
        60000,
        'seven failed attempts',
      );
    } finally {
      await h.sim.faults.setDown(false);
    }
    const upAt = Date.now();
    let done = false;
    while (!done && Date.now() - upAt < 40000) done = (await codeOf(h.client.ctl('CreateVolume', req('comeback'), 2000))).code === undefined;
    const tookMs = Date.now() - upAt;
    expect(done).toBe(true);
    expect(delays.length).toBeGreaterThan(0);
    expect(Math.max(...delays)).toBeLessThanOrEqual(CAP_MS);
    // Generous bound for a loaded machine: the job's capped wait, plus the RouterOS client's own reconnect backoff
    // (at most 5 s, src/rds/routeros-client.ts), plus slack. Without the cap it is at least 12.8 s.
    expect(tookMs).toBeLessThan(CAP_MS + 9000);
  }, 120000);
});

/** A breaker that opens at the first failure for openMs; a job that may retry ten times 1 s apart; no reconcilers. */
function breakerAtOneFailure(openMs: number): Record<string, number> {
  return {
    'rds.breakerThreshold': 1,
    'rds.breakerOpenMs': openMs,
    'worker.attempts': 10,
    'worker.backoffMs': 1000,
    'worker.backoffMaxMs': 5000,
    'fencing.reconcileIntervalMs': 3600000,
    'orphans.intervalMs': 3600000,
  };
}

describe('a job whose retries meet the half-open breaker', () => {
  let h: Harness;
  beforeAll(async () => {
    // The breaker opens at one failure, for 300 ms; the job's retries (1 s base) always come after that, half-open.
    // The scheduled reconcilers are pushed out of the way so that only this job's calls probe the breaker.
    h = await startHarness({ overrides: breakerAtOneFailure(300) });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('answers UNAVAILABLE ("RDS unreachable") when the probe fails, not ABORTED for the whole outage', async () => {
    expect((await h.client.ctl('CreateVolume', req('before'), 10000)).volume.volumeId).toBeDefined();
    const rds = h.controller!.rds;
    await h.sim.faults.setDown(true);
    try {
      await expect(rds.ping()).rejects.toMatchObject({ transient: true }); // opens the breaker
      await new Promise((r) => setTimeout(r, 400)); // half-open: the job's first call is the probe
      const res = await codeOf(h.client.ctl('CreateVolume', req('probe'), 10000));
      expect(res.code).toBe(status.UNAVAILABLE);
      expect(res.details).toMatch(/RDS unreachable at .*: the probe call after 1s failed too/);
    } finally {
      await h.sim.faults.setDown(false);
    }
    await waitFor(
      async () => (await codeOf(h.client.ctl('CreateVolume', req('probe'), 5000))).code === undefined,
      20000,
      'CreateVolume after RDS is back',
    );
  }, 60000);
});

describe('a job that meets the open breaker', () => {
  let h: Harness;
  beforeAll(async () => {
    // The breaker opens at one failure and stays open for a minute: every call of the job is refused. The job may
    // retry ten times, 1 s apart, so a refusal taken for a transient error would keep it waiting for many seconds.
    h = await startHarness({ overrides: breakerAtOneFailure(60000) });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('fails the job at once with UNAVAILABLE ("calls are refused"), without retrying it', async () => {
    const rds = h.controller!.rds;
    await h.sim.faults.setDown(true);
    try {
      await expect(rds.ping()).rejects.toMatchObject({ transient: true }); // opens the breaker for a minute
      const res = await codeOf(h.client.ctl('CreateVolume', req('refused'), 8000));
      expect(res.code).toBe(status.UNAVAILABLE);
      expect(res.details).toMatch(/RDS unreachable at .*calls are refused for \d+s/);
      const redis = new Redis(h.redis.url);
      const queue = new Queue('volumes', { connection: redis, prefix: h.cfg.queuePrefix });
      try {
        const job = await createJob(queue, 'refused');
        expect(await job?.getState()).toBe('failed');
        expect(job?.attemptsMade).toBe(1);
      } finally {
        await queue.close();
        redis.disconnect();
      }
    } finally {
      await h.sim.faults.setDown(false);
    }
  }, 60000);
});
