import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger';
import { checkRedis, formatRedisProblem } from '../queue/redis-check';

/**
 * At start-up, says loudly what is wrong with the Redis the driver was given (noeviction is required: an evicted
 * job key loses an operation; persistence keeps the queue across a Redis restart). It does not block start-up:
 * `rds-csi doctor controller` is the check that fails.
 */
export function warnAboutRedis(conn: Redis, prefix: string, log: Logger): void {
  checkRedis(conn, { prefix }).then(
    (problems) => {
      for (const p of problems) log[p.severity === 'error' ? 'error' : 'warn']({ check: p.check, fix: p.fix }, formatRedisProblem(p));
    },
    (err: Error) => log.warn({ err: err.message }, 'could not check the Redis settings'),
  );
}
