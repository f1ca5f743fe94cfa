import { Redis } from 'ioredis';
import { VolumeLease } from '../../src/queue/lease';
import { startRedis, type TestRedis } from '../support/redis';

/**
 * VolumeLease against a real Redis: the per-volume lease that keeps two jobs on one volume from running at once.
 * Each case states what the lease must and must not let through, read back from Redis itself.
 */
describe('VolumeLease', () => {
  const prefix = 'lease-test';
  let redis: TestRedis;
  let conn: Redis;
  let n = 0;
  let vol: string;
  const key = (volumeId: string): string => `${prefix}:lease:vol:${volumeId}`;

  beforeAll(async () => {
    redis = await startRedis();
    conn = new Redis(redis.url, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    conn.disconnect();
    await redis.stop();
  });
  beforeEach(() => {
    vol = `pvc-${++n}`;
  });

  it('stores the holder under <prefix>:lease:vol:<volume> with the ttl, and refuses another holder', async () => {
    const lease = new VolumeLease(conn, prefix, 5000);
    expect(await lease.acquire(vol, 'job-a')).toBe(true);
    expect(await conn.get(key(vol))).toBe('job-a');
    const ttl = await conn.pttl(key(vol));
    expect(ttl).toBeGreaterThan(4000);
    expect(ttl).toBeLessThanOrEqual(5000);
    expect(await lease.acquire(vol, 'job-b')).toBe(false);
    expect(await conn.get(key(vol))).toBe('job-a');
  });

  it('lets the same holder re-enter its lease and renews the ttl', async () => {
    const lease = new VolumeLease(conn, prefix, 5000);
    expect(await lease.acquire(vol, 'job-a')).toBe(true);
    await conn.pexpire(key(vol), 1000);
    expect(await lease.acquire(vol, 'job-a')).toBe(true);
    expect(await conn.pttl(key(vol))).toBeGreaterThan(4000);
  });

  it('release by another holder leaves the lease; release by the holder frees it for the next', async () => {
    const lease = new VolumeLease(conn, prefix, 5000);
    await lease.acquire(vol, 'job-a');
    await lease.release(vol, 'job-b');
    expect(await conn.get(key(vol))).toBe('job-a');
    await lease.release(vol, 'job-a');
    expect(await conn.exists(key(vol))).toBe(0);
    expect(await lease.acquire(vol, 'job-b')).toBe(true);
  });

  it('acquireAll takes every lease or none: a conflict on any one releases those it took', async () => {
    const lease = new VolumeLease(conn, prefix, 5000);
    const [a, b, c] = [`${vol}-a`, `${vol}-b`, `${vol}-c`];
    await lease.acquire(b, 'other');
    expect(await lease.acquireAll([c, a, b], 'job-x')).toBe(false);
    expect(await conn.exists(key(a))).toBe(0); // taken first (sorted order), released after the conflict on b
    expect(await conn.exists(key(c))).toBe(0); // never reached
    expect(await conn.get(key(b))).toBe('other');
    await lease.release(b, 'other');
    expect(await lease.acquireAll([c, a, b], 'job-x')).toBe(true);
    for (const k of [a, b, c]) expect(await conn.get(key(k))).toBe('job-x');
  });

  it('acquireAll takes the leases in sorted order, so the first conflict in order stops it', async () => {
    const lease = new VolumeLease(conn, prefix, 5000);
    const [a, z] = [`${vol}-a`, `${vol}-z`];
    await lease.acquire(a, 'other');
    // Given [z, a] unsorted, a sorted walk meets a (held) first and never takes z.
    expect(await lease.acquireAll([z, a], 'job-x')).toBe(false);
    expect(await conn.exists(key(z))).toBe(0);
  });

  /** The EVALSHA keys and SCRIPT LOADs Redis receives while `fn` runs (MONITOR on a connection of its own). */
  const watch = async (fn: () => Promise<unknown>): Promise<{ keys: string[]; loads: number }> => {
    const seen = { keys: [] as string[], loads: 0 };
    const monitor = await conn.monitor(); // a connection of its own, closed below (a duplicate() here would stay open)
    monitor.on('monitor', (_t: string, args: string[]) => {
      const cmd = args[0]?.toLowerCase();
      if (cmd === 'evalsha' && args[3]?.startsWith(`${prefix}:`)) seen.keys.push(args[3]);
      if (cmd === 'script' && args[1]?.toLowerCase() === 'load') seen.loads++;
    });
    await fn();
    await conn.ping(); // MONITOR lines are sent in order: once PING is seen by the client, the rest arrived
    await new Promise((r) => setTimeout(r, 50));
    monitor.disconnect();
    return seen;
  };

  it('acquireAll walks the keys in sorted order whatever order it is given (two jobs never deadlock)', async () => {
    const lease = new VolumeLease(conn, prefix, 5000);
    const keys = [`${vol}-c`, `${vol}-a`, `${vol}-b`];
    const seen = await watch(() => lease.acquireAll(keys, 'job-s'));
    expect(seen.keys).toEqual([...keys].sort().map(key));
  });

  it('loads the acquire script once per VolumeLease, then sends only its hash; the release is always one EVAL', async () => {
    const lease = new VolumeLease(conn, prefix, 5000);
    const seen = await watch(async () => {
      for (let i = 0; i < 3; i++) {
        await lease.acquire(vol, 'job-l');
        await lease.release(vol, 'job-l');
      }
    });
    expect(seen.loads).toBe(1); // ACQUIRE; RELEASE goes as EVAL (lease.ts release: its place in the connection's order)
    expect(seen.keys).toHaveLength(3);
  });

  it("hold returns without waiting for the release's reply, and the next command on the connection runs after the release", async () => {
    const lease = new VolumeLease(conn, prefix, 5000);
    await lease.acquireAll([vol], 'job-p');
    const pauser = new Redis(redis.url, { maxRetriesPerRequest: null });
    try {
      // From here Redis holds every client's write commands (the release's EVAL) for 300 ms.
      await pauser.client('PAUSE', 300, 'WRITE');
      const t0 = Date.now();
      await lease.hold([vol], 'job-p', () => Promise.resolve());
      expect(Date.now() - t0).toBeLessThan(150); // an awaited release would have taken the 300 ms pause
      // Sent after hold returned, on the same connection: Redis runs it only after the release (one connection's
      // commands in order), so it already sees the lease gone, as BullMQ's moveToFinished after it does.
      expect(await conn.exists(key(vol))).toBe(0);
    } finally {
      await pauser.client('UNPAUSE');
      pauser.disconnect();
    }
  });

  it('hold renews the leases while fn runs and releases them when it ends, also when it throws', async () => {
    const ttlMs = 300;
    const lease = new VolumeLease(conn, prefix, ttlMs);
    const keys = [`${vol}-a`, `${vol}-b`];
    await lease.acquireAll(keys, 'job-h');
    const result = await lease.hold(keys, 'job-h', async () => {
      await new Promise((r) => setTimeout(r, ttlMs * 3)); // three ttls: gone unless renewed
      for (const k of keys) expect(await conn.get(key(k))).toBe('job-h');
      return 'done';
    });
    expect(result).toBe('done');
    for (const k of keys) expect(await conn.exists(key(k))).toBe(0);

    await lease.acquireAll(keys, 'job-h');
    await expect(lease.hold(keys, 'job-h', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    for (const k of keys) expect(await conn.exists(key(k))).toBe(0);
  });

  it('hold stops renewing once fn has ended (no timer left behind re-taking the lease)', async () => {
    const lease = new VolumeLease(conn, prefix, 150);
    await lease.hold([vol], 'job-h', () => Promise.resolve());
    await new Promise((r) => setTimeout(r, 200));
    expect(await conn.exists(key(vol))).toBe(0);
  });

  it('renews at least every 50 ms even with a tiny ttl, and every third of the ttl otherwise', async () => {
    const renewals = async (ttlMs: number, forMs: number): Promise<number> => {
      const lease = new VolumeLease(conn, prefix, ttlMs);
      const id = `${vol}-${ttlMs}`;
      let count = 0;
      const monitor = await conn.monitor(); // a connection of its own, closed below (a duplicate() here would stay open)
      monitor.on('monitor', (_t: string, args: string[]) => {
        if (args[0]?.toLowerCase() === 'evalsha' && args[3] === key(id)) count++;
      });
      await lease.hold([id], 'job-r', () => new Promise((r) => setTimeout(r, forMs)));
      monitor.disconnect();
      return count; // the release is an EVAL, not counted
    };
    // ttl 30: floor(30/3)=10 ms would renew ~40 times in 400 ms; the 50 ms floor gives about 8.
    const tiny = await renewals(30, 400);
    expect(tiny).toBeGreaterThanOrEqual(4);
    expect(tiny).toBeLessThanOrEqual(9);
    // ttl 600: every 200 ms, about 3 times in 700 ms (not every 50 ms, not every 600).
    const normal = await renewals(600, 700);
    expect(normal).toBeGreaterThanOrEqual(2);
    expect(normal).toBeLessThanOrEqual(4);
  });

  it('reloads its scripts when Redis has lost them (SCRIPT FLUSH), and rethrows any other error', async () => {
    const lease = new VolumeLease(conn, prefix, 5000);
    expect(await lease.acquire(vol, 'job-a')).toBe(true);
    await conn.script('FLUSH');
    expect(await lease.acquire(vol, 'job-b')).toBe(false);
    await lease.release(vol, 'job-a');
    expect(await conn.exists(key(vol))).toBe(0);

    const broken = new Redis(redis.url, { maxRetriesPerRequest: null });
    const other = new VolumeLease(broken, prefix, 5000);
    await broken.set(key(vol), 'x');
    await broken.lpush(`${key(vol)}-list`, 'x');
    // A wrong-type key: the script's GET fails with WRONGTYPE, which is not NOSCRIPT and must surface.
    await expect(other.acquire(`${vol}-list`, 'job-a')).rejects.toThrow(/WRONGTYPE/);
    broken.disconnect();
  });
});
