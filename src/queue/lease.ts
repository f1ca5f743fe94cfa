/**
 * Per-volume lease across all worker processes: no two jobs that touch one volume run at once. The holder is the
 * job id, so a stalled job picked up again by another worker re-enters its own lease at once.
 */
import type { Redis } from 'ioredis';
import { DriverKeys } from '../state/keys';

const ACQUIRE = `
local v = redis.call('GET', KEYS[1])
if (not v) or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

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
    return (await this.script('ACQUIRE', ACQUIRE, this.key(volumeId), holder, this.ttlMs)) === 1;
  }

  /**
   * One EVAL with the script's text (about 100 bytes), never EVALSHA: it goes on the wire in the same tick, always as
   * one command (no SCRIPT LOAD before it, no NOSCRIPT retry after it), so `hold` can rely on its place in the
   * connection's order.
   */
  async release(volumeId: string, holder: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(volumeId), holder);
  }

  private readonly shas = new Map<string, string>();

  /** EVALSHA with the script's hash (one round trip, no script text on the wire); loads it when Redis lacks it. */
  private async script(name: string, body: string, key: string, ...args: Array<string | number>): Promise<unknown> {
    let sha = this.shas.get(name);
    if (!sha) {
      sha = (await this.redis.script('LOAD', body)) as string;
      this.shas.set(name, sha);
    }
    try {
      return await this.redis.evalsha(sha, 1, key, ...args);
    } catch (err) {
      if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      this.shas.delete(name); // Redis restarted or flushed its scripts
      return this.script(name, body, key, ...args);
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
