import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { parseMountInfo } from '../../src/host/mountinfo';
import { createLogger } from '../../src/log/logger';
import { Metrics } from '../../src/metrics/registry';
import { startNode, type NodeApp } from '../../src/runtime/node-app';
import { startController, type ControllerApp } from '../../src/runtime/controller-app';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { cleanupDir } from '../node/support';
import { CsiClient } from '../support/csi-client';
import { startRedis, type TestRedis } from '../support/redis';

/**
 * The fuzzer's world: a private redis-server, the RouterOS simulator over TCP, the controller with its worker, and
 * the node plugin with the loop connector on the simulator's files (real loop devices, mkfs, mounts). Every log line
 * of both is captured (JSON lines at trace level) and every command Redis receives is watched with MONITOR, so a
 * secret can be looked for in both. Sentinels made first: a foreign tmpfs under the kubelet-like dir, and a real
 * volume created, published, staged and node-published through the driver. `violations()` says what changed.
 */

export const SECRET_MARK = 'Zx9sEcReT';
export const NODE_ID = 'node-a';
const MiB = 1024 * 1024;

export interface Sentinels {
  volumeId: string;
  stagePath: string;
  publishPath: string;
  tmpfsPath: string;
  paths: string[];
}

export interface FuzzEnv {
  dir: string;
  kubelet: string;
  cfg: Config;
  ctlEndpoint: string;
  nodeEndpoint: string;
  ctl: CsiClient;
  node: CsiClient;
  sentinel: Sentinels;
  sim: RunningSimulator;
  /** A plain Redis connection for reading the driver's records. */
  peek: Redis;
  /** Log lines or Redis commands that contained a secret, and log lines that were not JSON. */
  leaks: string[];
  /** How many log lines and Redis commands were watched (proof that the capture works). */
  seen: { logLines: number; redisCommands: number };
  violations(): Promise<string[]>;
  /** Every Redis key and value (all types) that contains the secret mark. */
  secretsInRedis(): Promise<string[]>;
  /** After a reported violation: sentinels made whole again (as far as the driver lets) and a new baseline. */
  restore(): Promise<void>;
  stop(): Promise<void>;
}

interface Snapshot {
  mounts: Record<string, string>;
  files: Record<string, string>;
  redis: string;
  disk: string;
}

export function mountsAt(points: string[]): Record<string, string> {
  const all = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  const out: Record<string, string> = {};
  for (const p of points) out[p] = JSON.stringify(all.filter((e) => e.mountPoint === p).map((e) => [e.major, e.minor, e.root, e.fsType, e.source]));
  return out;
}

function readOr(file: string): string {
  try {
    return `${readFileSync(file, 'utf8')} size=${statSync(file).size}`;
  } catch (err) {
    return `unreadable: ${(err as Error).message}`;
  }
}

export async function startFuzzEnv(): Promise<FuzzEnv> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-fuzz-'));
  try {
    return await buildFuzzEnv(dir);
  } catch (err) {
    cleanupDir(dir); // a start that failed half-way must not leave its sentinel tmpfs or the volume's mounts behind
    throw err;
  }
}

async function buildFuzzEnv(dir: string): Promise<FuzzEnv> {
  const kubelet = path.join(dir, 'kubelet');
  const leaks: string[] = [];
  const seen = { logLines: 0, redisCommands: 0 };
  const sink = {
    write(line: string): void {
      seen.logLines++;
      if (line.includes(SECRET_MARK)) leaks.push(`log: ${line.slice(0, 400)}`);
      try {
        JSON.parse(line);
      } catch {
        leaks.push(`log line is not JSON: ${line.slice(0, 200)}`);
      }
    },
  };
  const log = createLogger('trace', 'rds-csi-fuzz', sink);
  const redis: TestRedis = await startRedis();
  // monitor() opens a connection of its own; the client it is called on is closed below too (left open, it kept
  // reconnecting to the stopped Redis and jest never exited).
  const monitorBase = new Redis(redis.url);
  const monitor = await monitorBase.monitor();
  monitor.on('monitor', (_time: string, args: string[]) => {
    seen.redisCommands++;
    const cmd = args.join(' ');
    if (cmd.includes(SECRET_MARK)) leaks.push(`redis: ${cmd.slice(0, 400)}`);
  });
  const sim: RunningSimulator = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    dataDir: path.join(dir, 'rds'),
    user: 'admin',
    password: 'secret',
    poolSizeBytes: 64 * 1024 * MiB,
  });
  const cfg = loadConfig(
    {
      redisUrl: redis.url,
      'rds.host': sim.host,
      'rds.port': sim.port,
      'rds.password': 'secret',
      'rds.callTimeoutMs': 2000,
      'rds.connectTimeoutMs': 1000,
      'worker.backoffMs': 100,
      'worker.attempts': 3,
      nodes: NODE_ID,
      logLevel: 'trace',
    },
    {},
  );
  const ctlEndpoint = `unix://${path.join(dir, 'controller.sock')}`;
  const nodeEndpoint = `unix://${path.join(dir, 'node.sock')}`;
  const controller: ControllerApp = await startController(cfg, { endpoint: ctlEndpoint, withWorker: true }, log);
  const nodeApp: NodeApp = await startNode(
    cfg,
    {
      endpoint: nodeEndpoint,
      metrics: new Metrics('node-fuzz'),
      node: { nodeId: NODE_ID, connector: 'loop', loopDataDir: sim.dataDir, kubeletDir: dir, orphanIntervalMs: 0, busyWaitMs: 300 },
    },
    log,
  );
  const ctl = new CsiClient(ctlEndpoint);
  const node = new CsiClient(nodeEndpoint);

  // Sentinels: a tmpfs nobody asked the driver about, and a volume through its whole normal life.
  const tmpfsPath = path.join(kubelet, 'pods', 'foreign', 'volumes', 'tmpfs');
  const mountTmpfs = (): void => {
    mkdirSync(tmpfsPath, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'fuzz-sentinel', tmpfsPath]);
    writeFileSync(path.join(tmpfsPath, 'canary'), 'tmpfs canary');
  };
  mountTmpfs();
  const mountCap = { mount: { fsType: 'ext4' }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };
  const created = await ctl.ctl(
    'CreateVolume',
    { name: 'pvc-5e471ee1-0000-4000-8000-000000000001', capacityRange: { requiredBytes: String(64 * MiB) }, volumeCapabilities: [mountCap] },
    30000,
  );
  const volumeId: string = created.volume.volumeId;
  const pub = await ctl.ctl(
    'ControllerPublishVolume',
    { volumeId, nodeId: NODE_ID, volumeCapability: mountCap, volumeContext: created.volume.volumeContext },
    30000,
  );
  const stagePath = path.join(kubelet, 'plugins', 'staging', volumeId);
  const publishPath = path.join(kubelet, 'pods', 'sentinel', 'volumes', volumeId, 'mount');
  const ctx = { volumeId, volumeCapability: mountCap, volumeContext: created.volume.volumeContext, publishContext: pub.publishContext };
  const nodeSteps = async (): Promise<void> => {
    await node.nodeCall('NodeStageVolume', { ...ctx, stagingTargetPath: stagePath }, 60000);
    await node.nodeCall('NodePublishVolume', { ...ctx, stagingTargetPath: stagePath, targetPath: publishPath }, 60000);
    writeFileSync(path.join(publishPath, 'canary'), 'volume canary');
  };
  await nodeSteps();
  const backing = path.join(sim.dataDir, cfg.rds.basePath.slice(1), `${volumeId}.img`);
  const points = [tmpfsPath, stagePath, publishPath];
  const canaries = [path.join(tmpfsPath, 'canary'), path.join(publishPath, 'canary'), path.join(stagePath, 'canary')];
  const peek = new Redis(redis.url);

  const snapshot = async (): Promise<Snapshot> => {
    const files: Record<string, string> = {};
    for (const f of canaries) files[f] = readOr(f);
    files[backing] = String(statSync(backing, { throwIfNoEntry: false })?.size);
    const rec = await peek.get(`${cfg.queuePrefix}:state:vol:${volumeId}`);
    const att = await peek.hget(`${cfg.queuePrefix}:state:attachments`, volumeId);
    return { mounts: mountsAt(points), files, redis: JSON.stringify([rec, att]), disk: JSON.stringify(sim.disks().find((d) => d.slot === volumeId)) };
  };
  let before = await snapshot();

  const alive = async (c: CsiClient, what: string): Promise<string[]> => {
    try {
      await c.id('Probe', {}, 5000);
      return [];
    } catch (err) {
      return [`${what} does not answer Probe: ${(err as Error).message}`];
    }
  };

  return {
    dir,
    kubelet,
    cfg,
    ctlEndpoint,
    nodeEndpoint,
    ctl,
    node,
    sentinel: { volumeId, stagePath, publishPath, tmpfsPath, paths: points },
    sim,
    peek,
    leaks,
    seen,
    async violations() {
      const now = await snapshot();
      const out: string[] = [...(await alive(ctl, 'controller')), ...(await alive(node, 'node plugin'))];
      for (const [k, v] of Object.entries(before.mounts)) if (now.mounts[k] !== v) out.push(`mount at ${k} changed: ${v} → ${now.mounts[k]}`);
      for (const [k, v] of Object.entries(before.files)) if (now.files[k] !== v) out.push(`file ${k} changed: ${v} → ${now.files[k]}`);
      if (now.redis !== before.redis) out.push(`Redis records of ${volumeId} changed: ${before.redis} → ${now.redis}`);
      if (now.disk !== before.disk) out.push(`RDS disk of ${volumeId} changed: ${before.disk} → ${now.disk}`);
      return out;
    },
    async secretsInRedis() {
      const hits: string[] = [];
      for (const key of await peek.keys('*')) {
        const type = await peek.type(key);
        const dump: unknown =
          type === 'string'
            ? await peek.get(key)
            : type === 'hash'
              ? await peek.hgetall(key)
              : type === 'list'
                ? await peek.lrange(key, 0, -1)
                : type === 'set'
                  ? await peek.smembers(key)
                  : type === 'zset'
                    ? await peek.zrange(key, 0, -1)
                    : type === 'stream'
                      ? await peek.xrange(key, '-', '+')
                      : type;
        if (`${key} ${JSON.stringify(dump)}`.includes(SECRET_MARK)) hits.push(key);
      }
      return hits;
    },
    async restore() {
      try {
        if (mountsAt([tmpfsPath])[tmpfsPath] === '[]') mountTmpfs();
        await ctl.ctl(
          'ControllerPublishVolume',
          { volumeId, nodeId: NODE_ID, volumeCapability: mountCap, volumeContext: created.volume.volumeContext },
          30000,
        );
        await nodeSteps();
      } finally {
        before = await snapshot();
      }
    },
    async stop() {
      ctl.close();
      node.close();
      await nodeApp.close();
      await controller.close();
      monitor.disconnect();
      monitorBase.disconnect();
      peek.disconnect();
      await sim.close();
      await redis.stop();
      cleanupDir(dir);
    },
  };
}
