import { Redis, type RedisOptions } from 'ioredis';

/**
 * Redis connections for BullMQ and the state store. BullMQ needs maxRetriesPerRequest null on blocking
 * connections; the API's own connection fails fast instead (enableOfflineQueue off) so an outage answers
 * UNAVAILABLE rather than hanging a CSI call.
 */
export function redisConnection(url: string, kind: 'blocking' | 'fast'): Redis {
  const opts: RedisOptions =
    kind === 'blocking'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 2000, commandTimeout: 5000 };
  const conn = new Redis(url, { ...opts, lazyConnect: false });
  // Errors surface on the commands that fail; without a listener ioredis would log them to stderr.
  conn.on('error', () => undefined);
  return conn;
}
