import { startRedisServer } from '../../src/runtime/redis-server';

export { freePort } from '../../src/runtime/redis-server';

/**
 * A private redis-server for one test file (src/runtime/redis-server.ts): its own port on 127.0.0.1 and temp dir,
 * noeviction like production, no persistence.
 */
export interface TestRedis {
  url: string;
  port: number;
  /** redis-server's pid: a test may SIGSTOP it to black-hole its connections. */
  pid: number;
  stop(): Promise<void>;
}

export function startRedis(): Promise<TestRedis> {
  return startRedisServer({ name: 'rds-csi-test-redis' });
}
