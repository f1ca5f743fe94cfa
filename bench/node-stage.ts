import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config/load';
import { CsiGrpcClient } from '../src/grpc/client';
import { createLogger } from '../src/log/logger';
import { startNode } from '../src/runtime/node-app';
import { summarize, type Summary } from './support/stats';
import { removeDirSafely } from '../src/host/safe-remove';

/**
 * (n) NodeStageVolume / NodeUnstageVolume with the loop connector (real losetup, blkid, mount on an ext4 volume that
 * already holds a filesystem, and a block volume): the RPC time over gRPC, the time the host tools took (the node's
 * own rds_csi_node_tool_duration_seconds), and the plugin's own time = RPC − tools. Target: ≤ 50 ms per stage.
 */
export interface NodeStageResult {
  cycles: number;
  skipped?: string;
  ext4?: { stage: Summary; unstage: Summary; stageOwn: Summary; unstageOwn: Summary };
  block?: { stage: Summary; unstage: Summary; stageOwn: Summary; unstageOwn: Summary };
}

const MiB = 1024 * 1024;

/**
 * A 64 MiB volume file where the loop connector looks for it (<dir>/pool/rds-csi/<id>.img; base path /pool/rds-csi),
 * ext4 already formatted or raw for block, and the NodeStageVolume request for it. Also used by node-rss.ts.
 */
export function prepareVolume(dir: string, nqnPrefix: string, kind: 'ext4' | 'block'): { id: string; staging: string; req: Record<string, unknown> } {
  const id = `vol-bench-${kind}-000000000000`;
  const file = path.join(dir, 'pool/rds-csi', `${id}.img`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '');
  truncateSync(file, 64 * MiB);
  if (kind === 'ext4') execFileSync('mkfs.ext4', ['-q', '-F', file]); // an existing filesystem: stage probes, never formats
  const cap =
    kind === 'ext4'
      ? { mount: { fsType: 'ext4', mountFlags: [] }, accessMode: { mode: 'SINGLE_NODE_WRITER' } }
      : { block: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } };
  const staging = path.join(dir, `staging-${kind}`);
  const req = {
    volumeId: id,
    stagingTargetPath: staging,
    volumeCapability: cap,
    volumeContext: {
      nqn: `${nqnPrefix}:${id}`,
      targetAddress: '127.0.0.1',
      targetPort: '4420',
      accessType: kind === 'ext4' ? 'mount' : 'block',
    },
  };
  return { id, staging, req };
}

export async function runNodeStage(tmp: string, cycles: number): Promise<NodeStageResult> {
  if (process.getuid?.() !== 0) return { cycles: 0, skipped: 'needs root (loop devices, mounts)' };
  const dir = mkdtempSync(path.join(tmp, 'rds-csi-bench-node-'));
  const cfg = loadConfig({ logLevel: 'silent', 'rds.basePath': '/pool/rds-csi' }, {});
  const app = await startNode(
    cfg,
    {
      endpoint: `unix://${path.join(dir, 'node.sock')}`,
      node: { nodeId: 'bench', connector: 'loop', loopDataDir: dir, kubeletDir: dir, orphanIntervalMs: 0 },
    },
    createLogger('silent'),
  );
  const client = new CsiGrpcClient(`unix://${path.join(dir, 'node.sock')}`);
  const toolSeconds = async (): Promise<number> => {
    const json = await app.metrics.registry.getMetricsAsJSON();
    const h = json.find((m) => m.name === 'rds_csi_node_tool_duration_seconds');
    return (h?.values ?? [])
      .filter((v) => String((v as { metricName?: string }).metricName).endsWith('_sum'))
      .reduce((a, v) => a + Number(v.value), 0);
  };
  const timed = async (fn: () => Promise<unknown>): Promise<{ ms: number; ownMs: number }> => {
    const tools0 = await toolSeconds();
    const t0 = process.hrtime.bigint();
    await fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    return { ms, ownMs: ms - ((await toolSeconds()) - tools0) * 1000 };
  };
  try {
    const out: NodeStageResult = { cycles };
    for (const kind of ['ext4', 'block'] as const) {
      const { id, req, staging } = prepareVolume(dir, cfg.nqnPrefix, kind);
      const stage: number[] = [];
      const unstage: number[] = [];
      const stageOwn: number[] = [];
      const unstageOwn: number[] = [];
      for (let i = 0; i < cycles + 2; i++) {
        const s = await timed(() => client.call('Node', 'NodeStageVolume', req, 60000));
        const u = await timed(() => client.call('Node', 'NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging }, 60000));
        if (i < 2) continue; // warm-up
        stage.push(s.ms);
        stageOwn.push(s.ownMs);
        unstage.push(u.ms);
        unstageOwn.push(u.ownMs);
      }
      out[kind] = { stage: summarize(stage), unstage: summarize(unstage), stageOwn: summarize(stageOwn), unstageOwn: summarize(unstageOwn) };
    }
    return out;
  } finally {
    client.close();
    await app.close();
    removeDirSafely(dir);
  }
}
