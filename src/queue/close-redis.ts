import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';

/**
 * Closes an ioredis connection at once, leaving no timer behind.
 *
 * `Redis#disconnect()` ends the current socket and arms a `disconnectTimeout` timer (2 s by default) that destroys
 * it if it is still half-open; the timer is cleared on the socket's `close` event (ioredis
 * lib/connectors/AbstractConnector.ts, added by redis/ioredis#1318). A client that is waiting to reconnect (Redis
 * down) holds a socket that has already closed, so that event never comes and the timer keeps the process alive for
 * 2 s after every such disconnect (redis/ioredis#1247). Here, when the socket had already closed, its `close` is
 * emitted once more so the timer is cleared: every listener that the real close concerned has already run.
 */
export function closeRedis(conn: Redis): void {
  const stream = conn.stream as Socket | undefined;
  conn.disconnect();
  if (stream?.closed) stream.emit('close', false);
}
