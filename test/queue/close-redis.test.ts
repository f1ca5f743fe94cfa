import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { closeRedis, closeWhileRedisAnswers, type CloseOutcome } from '../../src/queue/close-redis';
import { redisConnection } from '../../src/queue/connection';
import { startRedis } from '../support/redis';

/**
 * closeRedis leaves nothing that keeps a process alive, even when the client is waiting to reconnect to a Redis that
 * is gone (where a plain `disconnect()` leaves ioredis's 2 s stream-destroy timer). Each case runs in its own node
 * process (the compiled dist/, as the CLI does) and reports how long the process lived after the close.
 */

const DIST = path.resolve(__dirname, '../../dist/src/queue');

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** ms from the close to the process's exit, for a client of `kind` that has met a refused connection. */
async function lingerAfterClose(kind: 'fast' | 'blocking'): Promise<number> {
  const port = await freePort();
  const script = `
    const { redisConnection } = require(${JSON.stringify(path.join(DIST, 'connection.js'))});
    const { closeRedis } = require(${JSON.stringify(path.join(DIST, 'close-redis.js'))});
    const conn = redisConnection('redis://127.0.0.1:${port}', ${JSON.stringify(kind)});
    conn.once('reconnecting', () => {
      const closedAt = Date.now();
      closeRedis(conn);
      process.on('exit', () => process.stdout.write(String(Date.now() - closedAt)));
    });`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { timeout: 20000 });
  return Number(stdout);
}

describe('closeRedis', () => {
  it.each(['fast', 'blocking'] as const)('lets the process exit at once after closing a %s client that is waiting to reconnect', async (kind) => {
    // ioredis's disconnectTimeout is 2000 ms; an exit well before it means no timer was left behind.
    expect(await lingerAfterClose(kind)).toBeLessThan(1000);
  });
});

describe('closeWhileRedisAnswers', () => {
  const probe = { intervalMs: 100, pingTimeoutMs: 200, misses: 2 };
  const never = new Promise<void>(() => undefined);
  const after = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  // What Redis does while the close runs, and how the close itself ends.
  it.each([
    { redis: 'answering', close: 'finishes after 1.5 s', closing: () => after(1500), outcome: 'closed', minMs: 1500, maxMs: 3000 },
    { redis: 'killed', close: 'never finishes', closing: () => never, outcome: 'redis-unreachable', minMs: 0, maxMs: 1500 },
    { redis: 'SIGSTOPped', close: 'never finishes', closing: () => never, outcome: 'redis-unreachable', minMs: 300, maxMs: 1500 },
  ])('Redis $redis, the close $close: $outcome', async ({ redis: state, closing, outcome, minMs, maxMs }) => {
    const redis = await startRedis();
    const conn = redisConnection(redis.url, 'fast');
    try {
      expect(await conn.ping()).toBe('PONG');
      if (state === 'killed') await redis.stop();
      if (state === 'SIGSTOPped') process.kill(redis.pid, 'SIGSTOP');
      const started = Date.now();
      const got: CloseOutcome = await closeWhileRedisAnswers(closing(), conn, probe);
      const ms = Date.now() - started;
      expect({ got, waited: ms >= minMs, bounded: ms <= maxMs, ms: ms >= minMs && ms <= maxMs ? 'in range' : ms }).toEqual({
        got: outcome,
        waited: true,
        bounded: true,
        ms: 'in range',
      });
    } finally {
      closeRedis(conn);
      if (state === 'SIGSTOPped') process.kill(redis.pid, 'SIGCONT');
      await redis.stop();
    }
  });

  it('a close that fails is reported as such, not as an outage', async () => {
    const redis = await startRedis();
    const conn = redisConnection(redis.url, 'fast');
    try {
      await expect(closeWhileRedisAnswers(Promise.reject(new Error('close failed')), conn, probe)).rejects.toThrow('close failed');
    } finally {
      closeRedis(conn);
      await redis.stop();
    }
  });
});
