import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

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
