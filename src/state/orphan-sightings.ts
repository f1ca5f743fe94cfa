import type { Redis } from 'ioredis';
import type { DriverKeys } from './keys';

/**
 * When each orphan was first seen, in one Redis hash, so the grace period before a delete is measured from the
 * orphan's own first sighting, across restarts and workers. Keys that are no longer orphans are forgotten.
 */
export class OrphanSightings {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    keys: DriverKeys,
  ) {
    this.key = keys.orphanSightings;
  }

  /**
   * Records `now` for keys not seen before, forgets keys not in `current` (only those `scope` accepts: one RDS
   * backend's run forgets none of another's, issue 16); returns first-seen times.
   */
  async observe(current: string[], now: number, scope: (key: string) => boolean = () => true): Promise<Map<string, number>> {
    const known = await this.redis.hgetall(this.key);
    const gone = Object.keys(known).filter((k) => scope(k) && !current.includes(k));
    if (gone.length) await this.redis.hdel(this.key, ...gone);
    const seen = new Map<string, number>();
    for (const k of current) {
      if (known[k] === undefined) await this.redis.hsetnx(this.key, k, String(now));
      seen.set(k, Number(known[k] ?? now));
    }
    return seen;
  }

  async all(): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.key);
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
  }
}
