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

/** How a graceful close that needs Redis ended: it finished, or Redis stopped answering first. */
export type CloseOutcome = 'closed' | 'redis-unreachable';

export interface RedisProbeOptions {
  /** How often Redis is asked while the close runs. */
  intervalMs?: number;
  /** A PING not answered within this counts as a miss (a black-holed socket: the client still says 'ready'). */
  pingTimeoutMs?: number;
  /** Misses in a row that mean "unreachable": one slow PING under load is not an outage. */
  misses?: number;
}

/** True when `conn` is connected and answers PING within `timeoutMs`. */
export async function redisAnswers(conn: Redis, timeoutMs: number): Promise<boolean> {
  if (conn.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const pong = conn.ping().then(
    (r) => r === 'PONG',
    () => false,
  );
  try {
    return await Promise.race([pong, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits for `closing` (a graceful close that needs Redis) as long as Redis answers, and no longer.
 *
 * BullMQ's Worker.close() (node_modules/bullmq/dist/cjs/classes/worker.js, `close` then `whenCurrentJobsFinished`)
 * first waits for the jobs in flight and for its blocking client's `end` event (RedisConnection.disconnect(true),
 * classes/redis-connection.js). With Redis down that event never comes: a client waiting to reconnect has no socket
 * left to close (see closeRedis above), and a command in flight on a black-holed socket of a `maxRetriesPerRequest:
 * null` connection never settles. So the close would hang until the kubelet's SIGKILL. Waiting is only worth it
 * while Redis answers (a job in flight can still record its result); once it has missed `misses` PINGs in a row this
 * resolves 'redis-unreachable' and the caller stops without it. Nothing accepted is lost by that: a job that was
 * active stays active in Redis under its lock, and once the lock expires another worker's stalled check puts it back
 * to wait (it runs again; every job is idempotent); a write that Redis never acknowledged was never accepted.
 */
export async function closeWhileRedisAnswers(closing: Promise<void>, probe: Redis, o: RedisProbeOptions = {}): Promise<CloseOutcome> {
  const intervalMs = o.intervalMs ?? 500;
  const pingTimeoutMs = o.pingTimeoutMs ?? 1000;
  const misses = o.misses ?? 2;
  let done = false;
  const closed = closing
    .then(() => 'closed' as const)
    .finally(() => {
      done = true;
    });
  // Given up on, it may still fail later: that is no unhandled rejection (the race below still sees it when first).
  closed.catch(() => undefined);
  const watch = async (): Promise<CloseOutcome> => {
    let missed = 0;
    while (!done) {
      await new Promise((r) => setTimeout(r, intervalMs).unref());
      if (done) break;
      missed = (await redisAnswers(probe, pingTimeoutMs)) ? 0 : missed + 1;
      if (missed >= misses) return 'redis-unreachable';
    }
    return 'closed';
  };
  return Promise.race([closed, watch()]);
}
