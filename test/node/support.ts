import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema, type Config } from '../../src/config/schema';
import type { HostPort } from '../../src/host/port';
import { parseMountInfo } from '../../src/host/mountinfo';
import { createLogger, type Logger } from '../../src/log/logger';
import { Metrics } from '../../src/metrics/registry';
import type { NodeOptionsInput } from '../../src/config/schema';
import { type NodeApp, startNode } from '../../src/runtime/node-app';
import { CsiClient } from '../support/csi-client';
import { removeDirSafely } from '../../src/host/safe-remove';
import { describeIf, IS_ROOT, ROOT_REASON } from '../support/prereq';

/**
 * Node tests on real kernel objects: volume files in a temp "simulator data dir", the loop connector attaching
 * them, real mkfs/mount/bind/mknod. Needs root; otherwise the suites say so and skip. Cleanup unmounts everything
 * under the temp dir (deepest first) and detaches only the loop devices backed by its files — never anything else
 * on the machine — before the dir is removed.
 */

export { IS_ROOT };

/** `describe` when root, otherwise a visibly skipped suite with the reason in its name (in CI: a failure). */
export function describeRoot(name: string, fn: () => void): void {
  describeIf(IS_ROOT, ROOT_REASON)(name, fn);
}

/** CAP_SYS_RESOURCE (bit 24) is needed for online ext4 resize; some sandboxes drop it. */
export const HAS_SYS_RESOURCE = ((): boolean => {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? (BigInt(`0x${m[1]}`) & (1n << 24n)) !== 0n : false;
})();

export const NQN_PREFIX = 'nqn.2026-11.com.mikrotik.rds-csi.test';
export const BASE_PATH = '/pool/rds-csi';
export const MiB = 1024 * 1024;

export function testConfig(): Config {
  return configSchema.parse({ nqnPrefix: NQN_PREFIX, logLevel: 'silent', rds: { basePath: BASE_PATH } });
}

export interface NodeEnv {
  dir: string;
  dataDir: string;
  endpoint: string;
  cfg: Config;
  app: NodeApp;
  client: CsiClient;
  /** Path of a volume's backing file. */
  fileOf(volumeId: string): string;
  createVolume(volumeId: string, sizeBytes?: number): string;
  volumeContext(volumeId: string, accessType?: 'mount' | 'block'): Record<string, string>;
  /** Simulated plugin restart: a new process state (server, locks, connector) over the same host. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** `log`: where the plugin logs (default: TEST_LOG_LEVEL, silent). */
export async function startNodeEnv(extra: Partial<NodeOptionsInput> = {}, host?: HostPort, logger?: Logger): Promise<NodeEnv> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-node-'));
  const dataDir = path.join(dir, 'rds');
  const volumesDir = path.join(dataDir, BASE_PATH.slice(1));
  mkdirSync(volumesDir, { recursive: true });
  const endpoint = `unix://${path.join(dir, 'csi.sock')}`;
  const cfg = testConfig();
  const log = logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  const metrics = new Metrics('node-test');
  const opts = {
    endpoint,
    host,
    metrics,
    node: { nodeId: 'node-a', connector: 'loop' as const, loopDataDir: dataDir, kubeletDir: dir, orphanIntervalMs: 0, busyWaitMs: 300, ...extra },
  };
  const env: NodeEnv = {
    dir,
    dataDir,
    endpoint,
    cfg,
    app: await startNode(cfg, opts, log),
    client: new CsiClient(endpoint),
    fileOf: (id) => path.join(volumesDir, `${id}.img`),
    createVolume(id, sizeBytes = 64 * MiB) {
      const f = env.fileOf(id);
      writeFileSync(f, '');
      truncateSync(f, sizeBytes);
      return f;
    },
    volumeContext: (id, accessType = 'mount') => ({ nqn: `${NQN_PREFIX}:${id}`, targetAddress: '127.0.0.1', targetPort: '4420', accessType }),
    async restart() {
      env.client.close();
      await env.app.close();
      env.app = await startNode(cfg, opts, log);
      env.client = new CsiClient(endpoint);
    },
    async stop() {
      env.client.close();
      await env.app.close();
      cleanupDir(dir);
    },
  };
  return env;
}

function mountsUnder(dir: string): string[] {
  const entries = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  return entries.map((e) => e.mountPoint).filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** Unmount everything under dir, detach loop devices of files under dir, then remove dir (only if nothing is mounted). */
export function cleanupDir(dir: string): void {
  for (let i = 0; i < 100; i++) {
    const mounts = mountsUnder(dir).sort((a, b) => b.length - a.length);
    if (!mounts.length) break;
    try {
      execFileSync('umount', [mounts[0] ?? ''], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', mounts[0] ?? ''], { stdio: 'ignore' });
    }
  }
  for (const name of loopDevicesUnder(dir)) {
    try {
      execFileSync('losetup', ['--detach', `/dev/${name}`], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  }
  removeDirSafely(dir);
}

export function loopDevicesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of execFileSync('losetup', ['--list', '--noheadings', '--raw', '-O', 'NAME,BACK-FILE'], { encoding: 'utf8' }).split('\n')) {
    const [name, file] = line.trim().split(/\s+/, 2);
    if (name && file && file.startsWith(`${dir}/`)) out.push(path.basename(name));
  }
  return out;
}

export function isMountPoint(p: string): boolean {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')).some((e) => e.mountPoint === p);
}

export function blkidType(dev: string): string {
  try {
    return execFileSync('blkid', ['-p', '-o', 'value', '-s', 'TYPE', dev], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

export const MOUNT_CAP = (fsType = 'ext4', mode = 'SINGLE_NODE_WRITER'): object => ({ mount: { fsType, mountFlags: [] }, accessMode: { mode } });
export const BLOCK_CAP = (mode = 'SINGLE_NODE_WRITER'): object => ({ block: {}, accessMode: { mode } });
