import { Redis } from 'ioredis';
import { closeRedis } from '../../src/queue/close-redis';
import { redisConnection } from '../../src/queue/connection';
import { checkRedis, formatRedisProblem, hashTag, inspectRedis, keySlot, prefixProblem } from '../../src/queue/redis-check';
import { startHarness } from '../support/controller-harness';
import { startRedis, type TestRedis } from '../support/redis';
import { startRedisWith, type Server } from '../support/redis-servers';

/** checkRedis / inspectRedis against real redis-servers configured right and wrong. */

const MOUNT = { mount: { fsType: 'ext4' }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };

async function problemsOf(url: string, prefix = 'rds-csi'): Promise<Awaited<ReturnType<typeof checkRedis>>> {
  const conn = redisConnection(url, 'fast');
  try {
    return await checkRedis(conn, { prefix });
  } finally {
    conn.disconnect();
  }
}

describe('checkRedis on real servers', () => {
  const servers: Array<Server | TestRedis> = [];
  const start = async (extra: string[]): Promise<Server> => {
    const s = await startRedisWith(extra);
    servers.push(s);
    return s;
  };
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  it('finds nothing wrong with noeviction and AOF', async () => {
    const s = await start(['--appendonly', 'yes', '--appendfsync', 'everysec']);
    expect(await problemsOf(s.url)).toEqual([]);
  });

  it('accepts RDB snapshots as persistence', async () => {
    const s = await start(['--save', '3600 1']);
    expect(await problemsOf(s.url)).toEqual([]);
  });

  it('reports allkeys-lru as an error that says why noeviction is needed', async () => {
    const s = await start(['--appendonly', 'yes', '--maxmemory-policy', 'allkeys-lru', '--maxmemory', '64mb']);
    const problems = await problemsOf(s.url);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ check: 'redis maxmemory-policy', severity: 'error' });
    expect(problems[0].message).toMatch(/allkeys-lru \(maxmemory 64\.00M\).*evict a job or record key.*lost/);
    expect(formatRedisProblem(problems[0])).toMatch(/fix: set maxmemory-policy noeviction/);
  });

  it('reports a Redis without persistence (the test default) as an error', async () => {
    const r = await startRedis();
    servers.push(r);
    const problems = await problemsOf(r.url);
    expect(problems.map((p) => [p.check, p.severity])).toEqual([['redis persistence', 'error']]);
    expect(problems[0].fix).toMatch(/appendonly yes/);
  });

  it('reads the policy and AOF from INFO when CONFIG is disabled, and says so', async () => {
    const s = await start(['--appendonly', 'yes', '--rename-command', 'CONFIG', '']);
    const conn = redisConnection(s.url, 'fast');
    try {
      const checks = await inspectRedis(conn, { prefix: 'rds-csi' });
      const policy = checks.find((c) => c.name === 'redis maxmemory-policy');
      expect(policy).toMatchObject({ status: 'ok' });
      expect(policy?.detail).toMatch(/CONFIG is disabled here.*read from INFO/);
      expect(checks.find((c) => c.name === 'redis persistence')).toMatchObject({ status: 'ok', detail: expect.stringMatching(/AOF on/) });
    } finally {
      conn.disconnect();
    }
  });

  it('warns (does not guess) when CONFIG is disabled and AOF is off', async () => {
    const s = await start(['--rename-command', 'CONFIG', '', '--maxmemory-policy', 'volatile-lru']);
    const problems = await problemsOf(s.url);
    expect(problems.map((p) => [p.check, p.severity])).toEqual([
      ['redis maxmemory-policy', 'error'],
      ['redis persistence', 'warning'],
    ]);
    expect(problems[1].message).toMatch(/RDB save schedule cannot be read \(CONFIG is disabled/);
  });

  it('reports a replica (writes would fail)', async () => {
    const master = await start(['--appendonly', 'yes']);
    const replica = await start(['--appendonly', 'yes', '--replicaof', '127.0.0.1', String(master.port)]);
    const problems = await problemsOf(replica.url);
    expect(problems).toEqual([expect.objectContaining({ check: 'redis role', severity: 'error', message: expect.stringMatching(/replica/) })]);
  });

  it('reports a Cluster node, and computes key slots as Redis does', async () => {
    const s = await start(['--appendonly', 'yes', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']);
    const conn = redisConnection(s.url, 'fast');
    try {
      expect((await checkRedis(conn, { prefix: '{rds-csi}' })).map((p) => p.check)).toEqual(['redis cluster']);
      for (const key of ['{rds-csi}:volumes:id', 'rds-csi:volumes:wait', 'plain', '{}x', 'a{b}c', 'é{ü}']) {
        expect(keySlot(key)).toBe(Number(await conn.call('CLUSTER', 'KEYSLOT', key)));
      }
    } finally {
      conn.disconnect();
    }
  });

  it('flags a prefix with braces but no usable hash tag', async () => {
    expect(hashTag('{rds-csi}')).toBe('rds-csi');
    expect(hashTag('x{}y')).toBeUndefined();
    expect(prefixProblem('rds-csi')).toBeUndefined();
    expect(prefixProblem('{rds-csi}')).toBeUndefined();
    expect(prefixProblem('{}rds')).toMatch(/no complete, non-empty hash tag/);
    expect(prefixProblem('{rds')).toMatch(/spread over Cluster slots/);
    const s = await start(['--appendonly', 'yes']);
    expect((await problemsOf(s.url, '{rds')).map((p) => p.check)).toEqual(['queue prefix']);
  });

  it('answers within its timeout when Redis is gone, with one error and never a throw', async () => {
    const s = await start([]);
    await s.stop();
    // blocking kind: commands wait forever for a reconnect; checkRedis must not.
    const conn = redisConnection(s.url, 'blocking');
    try {
      const started = Date.now();
      const problems = await checkRedis(conn, { timeoutMs: 700 });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(problems).toEqual([
        expect.objectContaining({ check: 'redis reachable', severity: 'error', message: expect.stringMatching(/ECONNREFUSED|no answer/) }),
      ]);
    } finally {
      closeRedis(conn);
    }
  });
});

describe('a hash-tag queue prefix', () => {
  it('puts every key the driver writes (BullMQ, records, leases) in one Cluster slot', async () => {
    const h = await startHarness({ overrides: { queuePrefix: '{rds-csi}' } });
    try {
      const vol = await h.client.ctl(
        'CreateVolume',
        { name: 'tagged', capacityRange: { requiredBytes: String(1024 * 1024) }, volumeCapabilities: [MOUNT] },
        20000,
      );
      expect(vol.volume.volumeId).toBeTruthy();
      const redis = new Redis(h.redis.url);
      try {
        const keys = await redis.keys('*');
        expect(keys.filter((k) => k.startsWith('{rds-csi}:state:')).length).toBeGreaterThan(0);
        expect(keys.filter((k) => k.startsWith('{rds-csi}:volumes:')).length).toBeGreaterThan(0);
        const foreign = keys.filter((k) => !k.startsWith('{rds-csi}:'));
        expect(foreign).toEqual([]);
        expect(new Set(keys.map(keySlot))).toEqual(new Set([keySlot('{rds-csi}')]));
      } finally {
        redis.disconnect();
      }
    } finally {
      await h.stop();
    }
  });
});
