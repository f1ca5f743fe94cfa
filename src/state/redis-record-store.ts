import type { Redis } from 'ioredis';
import type { DriverKeys, RecordKind } from './keys';
import type { Page, RecordStore, StoredRecord } from './record-store';

/**
 * RecordStore on Redis: one JSON string per record plus a lexically sorted index for List* pagination.
 * Writes that depend on the generation run as Lua scripts, so two controllers never overwrite each other.
 * `kind` separates volumes (`vol`) from snapshots (`snap`); the key names come from state/keys.ts. Built by
 * state/stores.ts.
 */

/** ARGV[3]: the state the record must still be in; empty: any. */
const UPDATE_IF_GEN = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local rec = cjson.decode(cur)
if rec['gen'] ~= ARGV[2] then return 0 end
if ARGV[3] ~= '' and rec['state'] ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1`;

const REMOVE_IF_GEN = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cjson.decode(cur)['gen'] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1`;

const CLAIM = `
local ok = redis.call('SET', KEYS[1], ARGV[1], 'NX')
if ok then redis.call('ZADD', KEYS[2], 0, ARGV[2]) return ARGV[1] end
return redis.call('GET', KEYS[1])`;

/** A record write that fewer replicas than required confirmed within the timeout (the write may not survive a failover). */
export class RecordNotReplicatedError extends Error {}

/**
 * ioredis resends a lone command after a reconnect but aborts a pipeline the connection closed under ("Command
 * aborted due to connection close", AbortError, abortIncompletePipelines in ioredis/built/redis/event_handler.js):
 * the write may or may not have been made and no replica confirmed it, which is what RecordNotReplicatedError says
 * (UNAVAILABLE; every record script is safe to run again). Any other error is thrown as it is.
 */
function notConfirmed(err: unknown): never {
  if (err instanceof Error && err.name === 'AbortError') {
    throw new RecordNotReplicatedError(`record write not confirmed: ${err.message} (redis.waitReplicas)`);
  }
  throw err;
}

/** Redis WAIT after every record write: `replicas` must confirm within `timeoutMs`. */
export interface ReplicaWait {
  replicas: number;
  timeoutMs: number;
}

export class RedisRecordStore<T extends StoredRecord> implements RecordStore<T> {
  constructor(
    private readonly redis: Redis,
    private readonly keys: DriverKeys,
    private readonly kind: RecordKind,
    private readonly replicaWait: ReplicaWait = { replicas: 0, timeoutMs: 0 },
  ) {}

  /**
   * A record script, then WAIT until the replicas hold its write (https://redis.io/docs/latest/commands/wait/ — "WAIT
   * does not make Redis a strongly consistent store", but an acknowledged write then survives the failover Sentinel
   * promotes a confirming replica in). Both go in one pipeline, one round trip: WAIT on the same connection waits
   * for every write sent before it ("all the previous write commands sent in the context of the current
   * connection", same page). Fewer confirmations → RecordNotReplicatedError (UNAVAILABLE: the caller retries).
   */
  private async write(script: string, keys: string[], args: Array<string | number>): Promise<unknown> {
    const { replicas, timeoutMs } = this.replicaWait;
    if (replicas <= 0) return this.redis.eval(script, keys.length, ...keys, ...args);
    const replies =
      (await this.redis
        .pipeline()
        .eval(script, keys.length, ...keys, ...args)
        .wait(replicas, timeoutMs)
        .exec()
        .catch(notConfirmed)) ?? [];
    const [[scriptErr, result] = [new Error('no reply to the record script'), undefined], [waitErr, confirmed] = [null, 0]] = replies;
    if (scriptErr) notConfirmed(scriptErr);
    if (waitErr) notConfirmed(waitErr);
    if ((confirmed as number) < replicas) {
      throw new RecordNotReplicatedError(
        `record write confirmed by ${String(confirmed)} of ${replicas} Redis replicas within ${timeoutMs} ms (redis.waitReplicas)`,
      );
    }
    return result;
  }

  private key(id: string): string {
    return this.keys.record(this.kind, id);
  }

  private get index(): string {
    return this.keys.recordIndex(this.kind);
  }

  private parse(raw: string | null): T | undefined {
    return raw ? (JSON.parse(raw) as T) : undefined;
  }

  async get(id: string): Promise<T | undefined> {
    return this.parse(await this.redis.get(this.key(id)));
  }

  async claim(rec: T): Promise<{ created: boolean; record: T }> {
    const json = JSON.stringify(rec);
    const stored = (await this.write(CLAIM, [this.key(rec.id), this.index], [json, rec.id])) as string;
    return { created: stored === json, record: JSON.parse(stored) as T };
  }

  async update(rec: T, from?: T['state']): Promise<boolean> {
    return (await this.write(UPDATE_IF_GEN, [this.key(rec.id)], [JSON.stringify(rec), rec.gen, from ?? ''])) === 1;
  }

  async remove(id: string, gen: string): Promise<boolean> {
    return (await this.write(REMOVE_IF_GEN, [this.key(id), this.index], [gen, id])) === 1;
  }

  async page(after: string | undefined, limit: number): Promise<Page<T>> {
    const min = after === undefined ? '-' : `(${after}`;
    const ids = await this.redis.zrangebylex(this.index, min, '+', 'LIMIT', 0, limit + 1);
    const pageIds = ids.slice(0, limit);
    if (pageIds.length === 0) return { records: [] };
    const raws = await this.redis.mget(...pageIds.map((id) => this.key(id)));
    const records = raws.map((r) => this.parse(r)).filter((r): r is T => r !== undefined);
    return { records, next: ids.length > limit ? pageIds[pageIds.length - 1] : undefined };
  }

  async count(): Promise<number> {
    return this.redis.zcard(this.index);
  }
}
