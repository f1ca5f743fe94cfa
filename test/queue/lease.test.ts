import { Redis } from 'ioredis';
import { VolumeLease } from '../../src/queue/lease';
import { DriverKeys } from '../../src/state/keys';
import { startRedis, type TestRedis } from '../support/redis';
import { waitFor } from '../support/wait';

/**
 * The per-volume lease (queue/lease.ts) against a real redis-server, without a worker (issue 13 item 9): who may
 * take it, that only its holder releases it, that it expires when its holder stops renewing (a crashed worker), and
 * that `hold` renews it for as long as the work runs. The lease has no fencing token: its value is the holding job's
 * id, which is what lets a stalled job picked up again re-enter its own lease.
 */
describe('VolumeLease', () => {
  let server: TestRedis;
  let redis: Redis;
  let n = 0;
  const fresh = (ttlMs = 10000): { lease: VolumeLease; keys: DriverKeys } => {
    const prefix = `lease${++n}`;
    return { lease: new VolumeLease(redis, prefix, ttlMs), keys: new DriverKeys(prefix) };
  };

  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('is taken by one holder; the same holder re-enters it; another is refused', async () => {
    const { lease, keys } = fresh();
    expect(await lease.acquire('v1', 'job-a')).toBe(true);
    expect(await redis.get(keys.lease('v1'))).toBe('job-a');
    expect(await lease.acquire('v1', 'job-a')).toBe(true);
    expect(await lease.acquire('v1', 'job-b')).toBe(false);
    expect(await redis.get(keys.lease('v1'))).toBe('job-a');
    expect(await lease.acquire('v2', 'job-b')).toBe(true); // another volume is another lease
  });

  it('is released only by its holder', async () => {
    const { lease, keys } = fresh();
    await lease.acquire('v1', 'job-a');
    await lease.release('v1', 'job-b');
    expect(await redis.get(keys.lease('v1'))).toBe('job-a');
    await lease.release('v1', 'job-a');
    expect(await redis.get(keys.lease('v1'))).toBeNull();
    expect(await lease.acquire('v1', 'job-b')).toBe(true);
  });

  it('expires after its ttl when nobody renews it (a worker that died holding it)', async () => {
    const { lease, keys } = fresh(300);
    await lease.acquire('v1', 'job-a');
    const pttl = await redis.pttl(keys.lease('v1'));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(300);
    expect(await lease.acquire('v1', 'job-b')).toBe(false);
    await waitFor(() => lease.acquire('v1', 'job-b'), 5000, 'the lease to expire');
    expect(await redis.get(keys.lease('v1'))).toBe('job-b');
  });

  it('acquireAll takes every lease or none: a partial take is given back', async () => {
    const { lease, keys } = fresh();
    await lease.acquire('b', 'other');
    expect(await lease.acquireAll(['c', 'b', 'a'], 'job')).toBe(false);
    expect(await redis.get(keys.lease('a'))).toBeNull(); // taken first (sorted order), then released
    expect(await redis.get(keys.lease('c'))).toBeNull(); // never reached
    await lease.release('b', 'other');
    expect(await lease.acquireAll(['c', 'b', 'a'], 'job')).toBe(true);
    expect(await redis.mget(keys.lease('a'), keys.lease('b'), keys.lease('c'))).toEqual(['job', 'job', 'job']);
  });

  it('hold renews the leases while the work runs past their ttl, and releases them at the end, also on failure', async () => {
    const { lease, keys } = fresh(600);
    await lease.acquireAll(['v1', 'v2'], 'job');
    let stolen = false;
    await lease.hold(['v1', 'v2'], 'job', async () => {
      const until = Date.now() + 1300; // over two ttls
      while (Date.now() < until) {
        if (await lease.acquire('v1', 'thief')) stolen = true;
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    expect(stolen).toBe(false);
    expect(await redis.mget(keys.lease('v1'), keys.lease('v2'))).toEqual([null, null]);

    await lease.acquire('v1', 'job');
    await expect(lease.hold(['v1'], 'job', () => Promise.reject(new Error('processor failed')))).rejects.toThrow('processor failed');
    expect(await redis.get(keys.lease('v1'))).toBeNull();
  });

  it('survives Redis losing its scripts (restart, SCRIPT FLUSH): the script is loaded again', async () => {
    const { lease } = fresh();
    expect(await lease.acquire('v1', 'job-a')).toBe(true);
    await redis.script('FLUSH');
    expect(await lease.acquire('v1', 'job-b')).toBe(false);
    await redis.script('FLUSH');
    await lease.release('v1', 'job-a');
    expect(await lease.acquire('v1', 'job-b')).toBe(true);
  });
});
