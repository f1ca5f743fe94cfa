import { Redis } from 'ioredis';

/**
 * The BullMQ job records of a run, read straight from Redis (`<prefix>:volumes:<jobId>` hashes of completed
 * jobs): when each job was added (controller clock), taken (processedOn) and finished (finishedOn, worker clock).
 * All processes run on this machine, so the clocks agree to the millisecond.
 */
export interface JobTimes {
  id: string;
  name: string;
  volumeId: string;
  addedAt: number;
  processedOn: number;
  finishedOn: number;
  attemptsMade: number;
}

const PREFIX = 'rds-csi';
const QUEUE = 'volumes';

export async function completedJobs(redisUrl: string): Promise<JobTimes[]> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const ids = await redis.zrange(`${PREFIX}:${QUEUE}:completed`, 0, -1);
    const pipe = redis.pipeline();
    for (const id of ids) pipe.hmget(`${PREFIX}:${QUEUE}:${id}`, 'name', 'data', 'timestamp', 'processedOn', 'finishedOn', 'attemptsMade');
    const replies = (await pipe.exec()) ?? [];
    const out: JobTimes[] = [];
    replies.forEach(([err, value], i) => {
      if (err) return;
      const [name, data, ts, processedOn, finishedOn, attempts] = value as (string | null)[];
      if (!name || !data || !ts || !processedOn || !finishedOn) return;
      const { volumeId } = JSON.parse(data) as { volumeId: string };
      out.push({
        id: ids[i],
        name,
        volumeId,
        addedAt: Number(ts),
        processedOn: Number(processedOn),
        finishedOn: Number(finishedOn),
        attemptsMade: Number(attempts ?? 0),
      });
    });
    return out;
  } finally {
    redis.disconnect();
  }
}

export async function flushRedis(redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    await redis.flushall();
  } finally {
    redis.disconnect();
  }
}

/** Sum of a Prometheus histogram's `_sum` and `_count` over all label sets (optionally filtered by a label text). */
export function histogramTotals(metricsText: string, name: string, labelFilter = ''): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (const line of metricsText.split('\n')) {
    if (line.startsWith('#') || !line.includes(labelFilter)) continue;
    const m = /^(\S+?)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    if (m[1] === `${name}_sum`) sum += Number(m[3]);
    else if (m[1] === `${name}_count`) count += Number(m[3]);
  }
  return { sum, count };
}

/** Mean of a histogram per value of one label, ms, between two scrapes. */
export function meanMsByLabel(before: string, after: string, name: string, label: string): Record<string, number> {
  const totals = (text: string): Map<string, { sum: number; count: number }> => {
    const out = new Map<string, { sum: number; count: number }>();
    for (const line of text.split('\n')) {
      const m = new RegExp(`^${name}_(sum|count)\\{[^}]*\\b${label}="([^"]*)"[^}]*\\}\\s+(\\S+)$`).exec(line);
      if (!m) continue;
      const t = out.get(m[2]) ?? { sum: 0, count: 0 };
      if (m[1] === 'sum') t.sum += Number(m[3]);
      else t.count += Number(m[3]);
      out.set(m[2], t);
    }
    return out;
  };
  const a = totals(before);
  const out: Record<string, number> = {};
  for (const [k, t] of totals(after)) {
    const b = a.get(k) ?? { sum: 0, count: 0 };
    if (t.count > b.count) out[k] = ((t.sum - b.sum) / (t.count - b.count)) * 1000;
  }
  return out;
}

export async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

/** Redis commands executed so far, by command (INFO commandstats), without the INFO calls themselves. */
export async function redisCommandStats(redisUrl: string): Promise<Record<string, number>> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const text = await redis.info('commandstats');
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (m[1] !== 'info') out[m[1]] = Number(m[2]);
    return out;
  } finally {
    redis.disconnect();
  }
}

export function countDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/** Round-trip times of `n` sequential PINGs, ms. */
/** `gapMs`: idle time before each PING (0: back to back). */
export async function redisPingMs(redisUrl: string, n: number, gapMs = 0): Promise<number[]> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    await redis.ping();
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      const t = process.hrtime.bigint();
      await redis.ping();
      out.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return out;
  } finally {
    redis.disconnect();
  }
}

export interface TraceEntry {
  /** ms since the trace started */
  atMs: number;
  /** client address, or `lua` for commands run by a script */
  source: string;
  command: string;
}

/**
 * Every command Redis executes while the trace runs (MONITOR), for a single request on an otherwise idle system.
 * Shows the round trips of the critical path and on which connection each one ran.
 */
export async function traceRedis(redisUrl: string): Promise<{ stop(): Promise<TraceEntry[]>; clients(): Promise<Record<string, string>> }> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const monitor = await redis.monitor();
  const entries: TraceEntry[] = [];
  let t0: number | undefined;
  monitor.on('monitor', (time: string, args: string[], source: string) => {
    const t = Number(time) * 1000;
    t0 ??= t;
    const [cmd = '', ...rest] = args;
    // Name scripts by their first key (BullMQ keys and the driver's own keys are readable).
    const detail = /^eval/i.test(cmd) ? ` ${rest[2] ?? ''}` : rest.length ? ` ${rest[0]}` : '';
    entries.push({ atMs: Math.round((t - t0) * 1000) / 1000, source, command: `${cmd.toLowerCase()}${detail}`.slice(0, 80) });
  });
  return {
    /** Client address → connection name (CLIENT LIST), for the entries' sources. */
    clients: async () => {
      const text = (await redis.call('CLIENT', 'LIST')) as string;
      const out: Record<string, string> = {};
      for (const line of text.split('\n')) {
        const addr = /\baddr=(\S+)/.exec(line)?.[1];
        const name = /\bname=(\S*)/.exec(line)?.[1];
        if (addr) out[addr] = name ?? '';
      }
      return out;
    },
    stop: async () => {
      // Let the last replies of the request's tail reach the monitor.
      await new Promise((r) => setTimeout(r, 50));
      monitor.disconnect();
      redis.disconnect();
      return entries;
    },
  };
}
