import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { DriverKeys } from '../../src/state/keys';
import { startHarness, type Harness } from '../support/controller-harness';

/**
 * disk.create sends its first look at RDS beside its lease take (issue 14: workers/worker-host.ts LOOK_WHILE_TAKING,
 * queue/lease.ts take), through the real worker. A job whose generation the volume record does not carry (added beside
 * a claim that found another record: api/volume-operations.ts) must write nothing on RDS; a job whose lease another
 * job holds must write nothing until that lease is free, and then look again under it.
 */
const MiB = 1024 * 1024;

describe('disk.create: look while taking the lease', () => {
  let h: Harness;
  let redis: Redis;
  let queue: Queue;
  let events: QueueEvents;
  let keys: DriverKeys;

  beforeAll(async () => {
    h = await startHarness();
    redis = new Redis(h.redis.url);
    queue = new Queue(VOLUME_QUEUE, { connection: redis, prefix: h.cfg.queuePrefix });
    events = new QueueEvents(VOLUME_QUEUE, { connection: { url: h.redis.url }, prefix: h.cfg.queuePrefix });
    await events.waitUntilReady();
    keys = new DriverKeys(h.cfg.queuePrefix);
  });
  afterAll(async () => {
    await events.close();
    await queue.close();
    redis.disconnect();
    await h.stop();
  });

  const data = (slot: string, gen: string) => ({
    volumeId: slot,
    slot,
    filePath: `${h.cfg.rds.basePath}/${slot}.img`,
    sizeBytes: 8 * MiB,
    nqn: `${h.cfg.nqnPrefix}:${slot}`,
    port: 4420,
    gen,
  });
  const writes = (): number => {
    const s = h.sim.stats();
    return Object.entries(s)
      .filter(([k]) => !k.endsWith('/print'))
      .reduce((n, [, v]) => n + v, 0);
  };

  it.each([
    ['no record', undefined],
    ['a record of another generation', 'other'],
  ])('a job whose generation the record lacks (%s) completes as stale and writes nothing on RDS', async (_what, recordGen) => {
    const slot = `pvc-stale-${recordGen ?? 'none'}`;
    if (recordGen) await redis.set(keys.record('vol', slot), JSON.stringify({ id: slot, gen: recordGen, state: 'creating' }));
    const before = writes();
    const job = await queue.add('disk.create', data(slot, 'mine'), { jobId: `disk.create-${slot}-mine` });
    expect(await job.waitUntilFinished(events, 20000)).toEqual({ sizeBytes: 0, stale: true });
    expect(writes()).toBe(before);
    expect(h.sim.disks().find((d) => d.slot === slot)).toBeUndefined();
  });

  it('a job whose lease another job holds writes nothing until it is free, then creates the disk', async () => {
    const slot = 'pvc-held';
    await redis.set(keys.record('vol', slot), JSON.stringify({ id: slot, gen: 'g1', state: 'creating' }));
    await redis.set(keys.lease(slot), 'another-job', 'PX', 60000);
    const before = writes();
    const job = await queue.add('disk.create', data(slot, 'g1'), { jobId: `disk.create-${slot}-g1` });
    await new Promise((r) => setTimeout(r, 1500)); // it looked, found the lease held, went back to delayed (more than once)
    expect(writes()).toBe(before);
    expect(await job.getState()).not.toBe('completed');
    await redis.del(keys.lease(slot));
    expect(await job.waitUntilFinished(events, 20000)).toMatchObject({ sizeBytes: 8 * MiB });
    expect(h.sim.disks().find((d) => d.slot === slot)).toBeDefined();
  });
});
