import { PoolSpace } from '../../src/workers/pool-space';

/**
 * The worker's free-space check (issue 14): one pool reading per TTL, its own adds subtracted, a refusal confirmed
 * on a fresh reading. The pool is a counter here (what RDS would print), the clock a variable.
 */
const MiB = 1024 * 1024;

function setup(freeBytes: number, ttlMs = 3000) {
  const pool = { freeBytes, reads: 0 };
  let now = 1000;
  const space = new PoolSpace(
    () => {
      pool.reads++;
      return Promise.resolve({ sizeBytes: 1024 * MiB, freeBytes: pool.freeBytes });
    },
    ttlMs,
    () => now,
  );
  return { pool, space, tick: (ms: number) => (now += ms) };
}

describe('PoolSpace', () => {
  it('reads the pool once per TTL, however many adds', async () => {
    const { pool, space, tick } = setup(100 * MiB);
    for (let i = 0; i < 5; i++) (await space.reserve(MiB)).settle();
    expect(pool.reads).toBe(1);
    tick(3000);
    await space.reserve(MiB);
    expect(pool.reads).toBe(2);
  });

  it('concurrent reserves share one read', async () => {
    const { pool, space } = setup(100 * MiB);
    await Promise.all([space.reserve(MiB), space.reserve(MiB), space.reserve(MiB)]);
    expect(pool.reads).toBe(1);
  });

  it.each([
    { what: 'adds in flight count against the reading, even a fresh one', settle: false, fits: false },
    { what: 'an add that completed before a fresh reading is in that reading (not subtracted twice)', settle: true, fits: true },
  ])('$what', async ({ settle, fits }) => {
    const { pool, space, tick } = setup(100 * MiB);
    const first = await space.reserve(60 * MiB);
    if (settle) first.settle();
    tick(10); // the cached reading is now older than the next request: a refusal is checked on a fresh one
    const second = space.reserve(60 * MiB);
    if (fits) await expect(second).resolves.toBeDefined();
    else await expect(second).rejects.toMatchObject({ kind: 'exhausted', message: expect.stringMatching(/free/) });
    expect(pool.reads).toBe(2);
  });

  it('refuses within the TTL what its own adds already took, and a failed add gives its bytes back', async () => {
    const { pool, space } = setup(100 * MiB);
    const first = await space.reserve(60 * MiB);
    first.settle();
    // Same instant: the reading is not older than the request, so no second read; 40 MiB left by this worker's count.
    await expect(space.reserve(60 * MiB)).rejects.toMatchObject({ kind: 'exhausted' });
    expect(pool.reads).toBe(1);
    const failed = await space.reserve(40 * MiB);
    failed.release();
    await expect(space.reserve(40 * MiB)).resolves.toBeDefined();
  });
  it('a request of exactly the free bytes fits, within the TTL and without a second read; one byte more does not', async () => {
    const { pool, space, tick } = setup(100 * MiB);
    (await space.reserve(40 * MiB)).settle();
    tick(10); // the reading is older than the next request, but a request that fits is never read again for
    await expect(space.reserve(60 * MiB)).resolves.toBeDefined();
    expect(pool.reads).toBe(1);
    await expect(setup(100 * MiB).space.reserve(100 * MiB + 1)).rejects.toMatchObject({ kind: 'exhausted' });
  });

  it('within the TTL, a later request that fits reads nothing', async () => {
    const { pool, space, tick } = setup(100 * MiB);
    await space.reserve(MiB);
    tick(2999);
    await space.reserve(MiB);
    expect(pool.reads).toBe(1);
  });

  it.each([
    {
      what: 'nothing held: the free bytes alone',
      held: 0,
      want: `RDS pool has ${50 * MiB} bytes free, ${60 * MiB} needed; free space on the pool or request less`,
    },
    {
      what: "this worker's adds: named as such",
      held: 30 * MiB,
      want: `RDS pool has ${20 * MiB} bytes free (${50 * MiB} minus ${30 * MiB} this worker is adding), ${60 * MiB} needed; free space on the pool or request less`,
    },
  ])('the refusal says what is free and why: $what', async ({ held, want }) => {
    const { space } = setup(50 * MiB);
    if (held) await space.reserve(held);
    await expect(space.reserve(60 * MiB)).rejects.toMatchObject({ kind: 'exhausted', message: want });
  });

  it('an add that completed at the instant a fresh reading started is still counted (the reading may not show it)', async () => {
    const { pool, space, tick } = setup(100 * MiB);
    const first = await space.reserve(60 * MiB);
    tick(10);
    first.settle(); // completes at 1010; the pool's own count (not decremented here) is read at 1010 too
    await expect(space.reserve(60 * MiB)).rejects.toMatchObject({ kind: 'exhausted' });
    expect(pool.reads).toBe(2);
  });
});
