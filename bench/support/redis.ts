import { startRedisServer } from '../../src/runtime/redis-server';
import { killOnExit } from './procs';

/**
 * A private redis-server for the benchmark: its own port on 127.0.0.1 and temp dir, never the machine's shared
 * instance. noeviction like production, no persistence.
 */
export interface BenchRedis {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

export { freePort, waitForPort } from '../../src/runtime/redis-server';

export async function startRedis(): Promise<BenchRedis> {
  const server = await startRedisServer({ name: 'rds-csi-bench-redis' });
  killOnExit(server.child);
  return { url: server.url, port: server.port, pid: server.pid, stop: () => server.stop() };
}
