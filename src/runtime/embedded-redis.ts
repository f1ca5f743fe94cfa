/**
 * The all-in-one mode's private redis-server: AOF on and noeviction, as the driver needs in production. Fails at
 * once with the command that installs it when redis-server is missing.
 */
import { startRedisServer } from './redis-server';

export { REDIS_INSTALL_HINT } from './redis-server';

export interface EmbeddedRedis {
  url: string;
  close(): Promise<void>;
}

export async function startEmbeddedRedis(): Promise<EmbeddedRedis> {
  const server = await startRedisServer({ persistence: true, name: 'rds-csi-aio-redis' });
  return { url: server.url, close: () => server.stop() };
}
