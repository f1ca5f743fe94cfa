import type { Redis } from 'ioredis';

/**
 * Fast load for the scale part: copies everything Redis holds about one real volume (or snapshot) — its record, its
 * BullMQ job hashes, and its entries in shared keys (the record index ZSET, the completed ZSET, the attachments
 * hash) — for many new ids, with every occurrence of the template's id and generation replaced. What is copied is
 * whatever the driver really wrote for the template, so the copies have the shape and size of real ones whatever
 * the job catalog looks like today.
 */

export type Substitution = [from: string, to: string][];

function substitute(text: string, subs: Substitution): string {
  let out = text;
  for (const [from, to] of subs) if (from) out = out.split(from).join(to);
  return out;
}

async function scanKeys(redis: Redis, match: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

/** What one template is made of in Redis. */
export interface Template {
  /** Keys whose name holds the id (record, job hashes): copied whole. */
  own: { key: string; type: 'string' | 'hash' | 'list' | 'zset' | 'set'; value: unknown }[];
  /** Entries of shared keys whose member or field holds the id: copied into the same key. */
  shared: { key: string; type: 'zset' | 'hash' | 'set'; entries: [member: string, scoreOrValue: string][] }[];
}

export async function readTemplate(redis: Redis, id: string): Promise<Template> {
  const t: Template = { own: [], shared: [] };
  for (const key of await scanKeys(redis, '*')) {
    const type = await redis.type(key);
    if (key.includes(id)) {
      if (type === 'string') t.own.push({ key, type, value: await redis.get(key) });
      else if (type === 'hash') t.own.push({ key, type, value: await redis.hgetall(key) });
      else if (type === 'list') t.own.push({ key, type, value: await redis.lrange(key, 0, -1) });
      else if (type === 'set') t.own.push({ key, type, value: await redis.smembers(key) });
      else if (type === 'zset') t.own.push({ key, type, value: await redis.zrange(key, 0, -1, 'WITHSCORES') });
      continue;
    }
    if (type === 'zset') {
      const flat = await redis.zrange(key, 0, -1, 'WITHSCORES');
      const entries: [string, string][] = [];
      for (let i = 0; i < flat.length; i += 2) if (flat[i].includes(id)) entries.push([flat[i], flat[i + 1]]);
      if (entries.length) t.shared.push({ key, type, entries });
    } else if (type === 'hash') {
      const entries = Object.entries(await redis.hgetall(key)).filter(([f]) => f.includes(id));
      if (entries.length) t.shared.push({ key, type, entries });
    } else if (type === 'set') {
      const entries = (await redis.smembers(key)).filter((m) => m.includes(id)).map((m): [string, string] => [m, '']);
      if (entries.length) t.shared.push({ key, type, entries });
    }
  }
  return t;
}

/** Writes one copy of `t` per substitution, pipelined in batches. */
export async function writeCopies(redis: Redis, t: Template, copies: Substitution[], batch = 200): Promise<void> {
  for (let i = 0; i < copies.length; i += batch) {
    const pipe = redis.pipeline();
    for (const subs of copies.slice(i, i + batch)) {
      const s = (x: string): string => substitute(x, subs);
      for (const o of t.own) {
        const key = s(o.key);
        if (o.type === 'string') pipe.set(key, s(o.value as string));
        else if (o.type === 'hash')
          pipe.hset(key, Object.fromEntries(Object.entries(o.value as Record<string, string>).map(([f, v]) => [s(f), s(v)])));
        else if (o.type === 'list') pipe.rpush(key, ...(o.value as string[]).map(s));
        else if (o.type === 'set') pipe.sadd(key, ...(o.value as string[]).map(s));
        else {
          const flat = o.value as string[];
          for (let j = 0; j < flat.length; j += 2) pipe.zadd(key, flat[j + 1], s(flat[j]));
        }
      }
      for (const sh of t.shared) {
        for (const [m, v] of sh.entries) {
          if (sh.type === 'zset') pipe.zadd(sh.key, v, s(m));
          else if (sh.type === 'hash') pipe.hset(sh.key, s(m), s(v));
          else pipe.sadd(sh.key, s(m));
        }
      }
    }
    await pipe.exec();
  }
}

/**
 * BullMQ's event stream is capped (Queue option streams.events.maxLen, default 10,000 entries, bullmq
 * classes/queue.ts): a real install that made this many volumes holds it full. Re-adds its own entries until it
 * holds `target` entries (at most the cap). Returns the length reached.
 */
export async function fillEventStream(redis: Redis, key: string, target: number): Promise<number> {
  const entries = await redis.xrange(key, '-', '+');
  if (entries.length === 0) return 0;
  let len = await redis.xlen(key);
  while (len < target) {
    const pipe = redis.pipeline();
    for (const [, fields] of entries.slice(0, Math.min(entries.length, target - len))) pipe.xadd(key, '*', ...fields);
    await pipe.exec();
    len = await redis.xlen(key);
  }
  return len;
}

export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const m = /^used_memory:(\d+)/m.exec(info);
  if (!m) throw new Error('no used_memory in INFO memory');
  return Number(m[1]);
}

/** MEMORY USAGE of a key (all its elements: SAMPLES 0), bytes. */
export async function memoryUsage(redis: Redis, key: string): Promise<number> {
  return Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
}

export { scanKeys };
