import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { removeDirSafely } from '../../src/host/safe-remove';
import { freePort, startRedisServer, waitForPort, type RedisServer } from '../../src/runtime/redis-server';

/**
 * The recommended production topology on loopback, every process private to one test: a master (AOF everysec,
 * noeviction), one replica (`replicaof`) and three `redis-sentinel` processes (Debian's redis-sentinel package)
 * with quorum 2. Timings are small so a failover takes seconds: down-after 1000 ms, failover-timeout 5000 ms.
 */
export const MASTER_NAME = 'rdscsi';

export interface SentinelProcess {
  port: number;
  child: ChildProcess;
}

export interface Topology {
  master: RedisServer;
  replica: RedisServer;
  /** Every replica, `replica` first. */
  replicas: RedisServer[];
  sentinels: SentinelProcess[];
  /** `127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3` for `redis.sentinels`. */
  sentinelList: string;
  /** The master's port as the sentinels report it now. */
  currentMasterPort(): Promise<number>;
  stop(): Promise<void>;
}

export function hasRedisSentinel(): boolean {
  return spawnSync('sh', ['-c', 'command -v redis-sentinel'], { stdio: 'ignore' }).status === 0;
}

async function startSentinel(masterPort: number, dir: string, i: number): Promise<SentinelProcess> {
  const port = await freePort();
  const conf = path.join(dir, `sentinel-${i}.conf`);
  // Sentinel rewrites its config file (it must be writable): one file per sentinel, in the test's temp dir.
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
      `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
      `sentinel failover-timeout ${MASTER_NAME} 5000`,
      `sentinel parallel-syncs ${MASTER_NAME} 1`,
      '',
    ].join('\n'),
  );
  const child = spawn('redis-sentinel', [conf], { stdio: 'ignore' });
  await waitForPort(port, child, 10000, 'redis-sentinel');
  return { port, child };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

async function poll(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error(`sentinel topology: ${what} not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** One-off command to 127.0.0.1:port (a fresh connection, closed after). */
export async function redisCall(port: number, ...args: string[]): Promise<unknown> {
  const c = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 1000,
    retryStrategy: () => null,
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await c.call(args[0], ...args.slice(1));
  } finally {
    c.disconnect();
  }
}

export async function startTopology(replicaCount = 1): Promise<Topology> {
  const base = ['--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction'];
  const master = await startRedisServer({ name: 'rds-csi-failover-master', extraArgs: base });
  const replicas: RedisServer[] = [];
  for (let i = 0; i < replicaCount; i++)
    replicas.push(
      await startRedisServer({ name: 'rds-csi-failover-replica', extraArgs: [...base, '--replicaof', '127.0.0.1', String(master.port)] }),
    );
  const replica = replicas[0];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-failover-sentinels-'));
  const sentinels: SentinelProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const s of sentinels) await kill(s.child);
    for (const r of replicas) await r.stop();
    await master.stop();
    removeDirSafely(dir);
  };
  try {
    for (const r of replicas)
      await poll('replica in sync', 10000, async () => String(await redisCall(r.port, 'INFO', 'replication')).includes('master_link_status:up'));
    for (let i = 0; i < 3; i++) sentinels.push(await startSentinel(master.port, dir, i));
    // A failover needs every sentinel to know the replica (it learns it from the master's INFO) and a majority to
    // know each other (hello messages): wait for both, or a kill now would find no one to promote.
    await poll('sentinels know the replica and each other', 30000, async () => {
      for (const s of sentinels) {
        const known = (await redisCall(s.port, 'SENTINEL', 'REPLICAS', MASTER_NAME)) as unknown[];
        const peers = (await redisCall(s.port, 'SENTINEL', 'SENTINELS', MASTER_NAME)) as unknown[];
        if (known.length < replicaCount || peers.length < 2) return false;
      }
      return true;
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    master,
    replica,
    replicas,
    sentinels,
    sentinelList: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
    currentMasterPort: async () => {
      const addr = (await redisCall(sentinels[0].port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)) as string[];
      return Number(addr[1]);
    },
    stop,
  };
}
