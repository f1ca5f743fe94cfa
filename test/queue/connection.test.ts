import { rmSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { ConfigError } from '../../src/config/load';
import { describeRedisTarget, parseSentinels, redisConnection, redisOptions, redisTargetFromConfig } from '../../src/queue/connection';
import { startRedis, type TestRedis } from '../support/redis';
import { makeCerts, startSentinel, startTlsRedis, type Certs, type Server } from '../support/redis-servers';

/** The Redis connection factory: URL form unchanged, options form with a pinned CA (rediss://) and Sentinel. */

/** PING within `ms`; on failure the connection's own error (TLS, refused) rather than ioredis's retry summary. */
async function pingWithin(conn: Redis, ms: number): Promise<string> {
  let lastError: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  conn.on('error', (e: Error) => (lastError = e));
  try {
    return await Promise.race([
      conn.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), ms);
      }),
    ]);
  } catch (err) {
    throw lastError ?? err;
  } finally {
    clearTimeout(timer);
    conn.disconnect();
  }
}

describe('redis connection options', () => {
  it('keeps the URL form exactly as existing callers had it', () => {
    expect(redisOptions('redis://127.0.0.1:6379', 'blocking')).toEqual({ maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
    expect(redisOptions('redis://127.0.0.1:6379', 'fast')).toEqual({
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      connectTimeout: 2000,
      commandTimeout: 5000,
      lazyConnect: false,
    });
  });

  it('parses sentinel lists and names the bad entry', () => {
    expect(parseSentinels('a:26379, 10.0.0.2:26380,[::1]:5000')).toEqual([
      { host: 'a', port: 26379 },
      { host: '10.0.0.2', port: 26380 },
      { host: '::1', port: 5000 },
    ]);
    expect(() => parseSentinels('a:26379,nohost')).toThrow(/"nohost" is not HOST:PORT/);
    expect(() => parseSentinels('a:70000')).toThrow(ConfigError);
  });

  it('rejects combinations that cannot work, as config errors', () => {
    expect(() => redisTargetFromConfig({ redisUrl: 'redis://x:1', redis: { sentinels: 'a:1' } })).toThrow(/sentinelName/);
    expect(() => redisTargetFromConfig({ redisUrl: 'redis://x:1', redis: { sentinelName: 'm' } })).toThrow(/redis.sentinels/);
    expect(() => redisTargetFromConfig({ redisUrl: 'redis://x:1', redis: { caFile: '/ca.pem' } })).toThrow(/use rediss:\/\//);
    expect(() => redisOptions({ url: 'rediss://x:1', caFile: '/nonexistent/ca.pem' }, 'fast')).toThrow(/cannot read redis.caFile/);
    expect(redisTargetFromConfig({ redisUrl: 'redis://x:1' })).toEqual({ url: 'redis://x:1' });
  });

  it('sets the Sentinel options, with TLS to sentinels and master under rediss://', () => {
    const o = redisOptions(
      { url: 'rediss://:pw@ignored:1/2', sentinels: 's1:26379,s2:26379', sentinelName: 'mymaster', sentinelPassword: 'sp' },
      'blocking',
    );
    expect(o).toMatchObject({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'mymaster',
      sentinelPassword: 'sp',
      enableTLSForSentinelMode: true,
      maxRetriesPerRequest: null,
    });
    expect(o.sentinelTLS).toBe(o.tls);
    expect(describeRedisTarget({ url: 'redis://:pw@x:1', sentinels: 's1:26379', sentinelName: 'mymaster' })).toBe(
      'master "mymaster" via sentinels s1:26379',
    );
    expect(describeRedisTarget('redis://:secret@x:1/0')).not.toContain('secret');
  });
});

describe('redis over TLS with a pinned CA', () => {
  let certs: Certs;
  let tls: Server;
  beforeAll(async () => {
    certs = makeCerts();
    tls = await startTlsRedis(certs);
  });
  afterAll(async () => {
    await tls.stop();
    rmSync(certs.dir, { recursive: true, force: true });
  });

  it('connects when the server certificate chains to the CA file', async () => {
    expect(await pingWithin(redisConnection({ url: tls.url, caFile: certs.ca }, 'fast'), 5000)).toBe('PONG');
  });

  it('refuses a server whose certificate does not chain to the CA file', async () => {
    await expect(pingWithin(redisConnection({ url: tls.url, caFile: certs.otherCa }, 'fast'), 3000)).rejects.toThrow(
      /self[- ]signed|unable to verify|certificate/i,
    );
  });

  it('refuses the server with the plain URL form too (system CAs do not know it)', async () => {
    await expect(pingWithin(redisConnection(tls.url, 'fast'), 3000)).rejects.toThrow(/certificate/i);
  });
});

describe('redis through Sentinel', () => {
  let master: TestRedis;
  let sentinel: Server;
  beforeAll(async () => {
    master = await startRedis();
    sentinel = await startSentinel(master.port, 'mymaster');
  });
  afterAll(async () => {
    await sentinel.stop();
    await master.stop();
  });

  it('finds the master through the sentinels and writes to it', async () => {
    const target = { url: 'redis://unused-host:1', sentinels: `127.0.0.1:${sentinel.port}`, sentinelName: 'mymaster' };
    const conn = redisConnection(target, 'fast');
    try {
      await conn.set('ops-test', 'through-sentinel');
      expect(await conn.info('replication')).toMatch(/role:master/);
    } finally {
      conn.disconnect();
    }
    const direct = redisConnection(master.url, 'fast');
    try {
      expect(await direct.get('ops-test')).toBe('through-sentinel');
    } finally {
      direct.disconnect();
    }
  });

  it('fails when the sentinels do not know the master name', async () => {
    const target = { url: 'redis://unused-host:1', sentinels: `127.0.0.1:${sentinel.port}`, sentinelName: 'other' };
    // 'blocking': no per-command timer outlives the test.
    await expect(pingWithin(redisConnection(target, 'blocking'), 3000)).rejects.toThrow(/other|sentinel/i);
  });
});
