/**
 * Per-volume lease across all worker processes: no two jobs that touch one volume run at once. The holder is the
 * job id, so a stalled job picked up again by another worker re-enters its own lease at once.
 */
import type { Redis } from 'ioredis';
import { DriverKeys } from '../state/keys';

/**
 * A released lease is not deleted: it becomes RELEASED ('') for RELEASED_MS, so `take` can tell a lease nobody held
 * in that time (its look, sent beside the take, cannot predate an earlier holder's writes) from one just released.
 */
const RELEASED_MS = 5000;
/** A take whose reply came later than this after it was sent is treated as not fresh (see `take`). */
export const FRESH_WITHIN_MS = 1000;

const ACQUIRE = `
local v = redis.call('GET', KEYS[1])
if (not v) or v == ARGV[1] or v == '' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

/**
 * ACQUIRE for a job that looks at RDS while its lease is being taken (worker-host.ts): -1 = the volume record (KEYS[2],
 * when given) does not carry the job's generation ARGV[3] (a job added beside a claim that found another record:
 * api/volume-operations.ts); 0 = held by another; 1 = taken, nobody held it for RELEASED_MS; 2 = taken, but it was held
 * (by this job before a stall, or released within RELEASED_MS).
 */
const TAKE = `
if KEYS[2] then
  local rec = redis.call('GET', KEYS[2])
  if (not rec) or cjson.decode(rec)['gen'] ~= ARGV[3] then return -1 end
end
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] and v ~= '' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if v then return 2 end
return 1`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], '', 'PX', ARGV[2]) return 1 end
return 0`;

/** What `take` found: see TAKE. */
export type Take = 'stale' | 'held' | 'fresh' | 'taken';
const TAKES: Record<number, Take> = { [-1]: 'stale', 0: 'held', 1: 'fresh', 2: 'taken' };

export class VolumeLease {
  private readonly keys: DriverKeys;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly ttlMs: number,
  ) {
    this.keys = new DriverKeys(prefix);
  }

  private key(volumeId: string): string {
    return this.keys.lease(volumeId);
  }

  async acquire(volumeId: string, holder: string): Promise<boolean> {
    return (await this.script('ACQUIRE', ACQUIRE, [this.key(volumeId)], holder, this.ttlMs)) === 1;
  }

  /**
   * Takes the lease of one volume for a job that sends its first (read-only) RDS look at the same time: 'fresh' only
   * when nobody held the lease within RELEASED_MS and the reply came within FRESH_WITHIN_MS of sending, so an earlier
   * holder's last write (made before its release) cannot come after the look; 'taken' = held now, but the look must be
   * made again. With `gen`, the volume record must carry that generation ('stale' otherwise; nothing taken).
   */
  async take(volumeId: string, holder: string, gen?: string): Promise<Take> {
    const keys = gen === undefined ? [this.key(volumeId)] : [this.key(volumeId), this.keys.record('vol', volumeId)];
    const args = gen === undefined ? [holder, this.ttlMs] : [holder, this.ttlMs, gen];
    const sent = Date.now();
    const took = TAKES[(await this.script('TAKE', TAKE, keys, ...args)) as number] ?? 'held';
    return took === 'fresh' && Date.now() - sent > FRESH_WITHIN_MS ? 'taken' : took;
  }

  /**
   * One EVAL with the script's text (about 100 bytes), never EVALSHA: it goes on the wire in the same tick, always as
   * one command (no SCRIPT LOAD before it, no NOSCRIPT retry after it), so `hold` can rely on its place in the
   * connection's order.
   */
  async release(volumeId: string, holder: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(volumeId), holder, RELEASED_MS);
  }

  private readonly shas = new Map<string, string>();

  /** EVALSHA with the script's hash (one round trip, no script text on the wire); loads it when Redis lacks it. */
  private async script(name: string, body: string, keys: string[], ...args: Array<string | number>): Promise<unknown> {
    let sha = this.shas.get(name);
    if (!sha) {
      sha = (await this.redis.script('LOAD', body)) as string;
      this.shas.set(name, sha);
    }
    try {
      return await this.redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      this.shas.delete(name); // Redis restarted or flushed its scripts
      return this.script(name, body, keys, ...args);
    }
  }

  /** Takes every lease (in sorted order, so two jobs never deadlock) or none. */
  async acquireAll(keys: string[], holder: string): Promise<boolean> {
    const taken: string[] = [];
    for (const key of [...keys].sort()) {
      if (!(await this.acquire(key, holder))) {
        for (const k of taken) await this.release(k, holder);
        return false;
      }
      taken.push(key);
    }
    return true;
  }

  /**
   * Holds the leases while `fn` runs, renewing them every third of their ttl. The release is sent when `fn` ends but
   * its reply is not awaited: whatever the caller sends next on this connection (the worker's BullMQ moveToFinished:
   * the Worker uses the ioredis instance it is given as its command client, worker-host.ts) runs after it in Redis,
   * which executes one connection's commands in the order they were sent, so that order is as before while the job's
   * finish no longer waits one round trip for it (issue 14). A failed release was ignored before too: the lease then
   * expires after its ttl.
   */
  async hold<T>(keys: string[], holder: string, fn: () => Promise<T>): Promise<T> {
    const timer = setInterval(
      () => {
        for (const key of keys) this.acquire(key, holder).catch(() => undefined);
      },
      Math.max(50, Math.floor(this.ttlMs / 3)),
    );
    try {
      return await fn();
    } finally {
      clearInterval(timer);
      for (const key of keys) this.release(key, holder).catch(() => undefined);
    }
  }
}
