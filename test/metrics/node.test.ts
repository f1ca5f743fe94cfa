import { mkdirSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CsiClient } from '../support/csi-client';
import { spawnCli, type CliProcess } from '../support/processes';
import { freePort } from '../support/redis';
import { waitFor } from '../support/wait';
import { BASE_PATH, MiB, MOUNT_CAP, NQN_PREFIX, cleanupDir, describeRoot, isMountPoint } from '../node/support';
import { conventionProblems, family, histogram, histogramSeries, scrape, value, type Families } from './prom-text';

/**
 * /metrics of a real `rds-csi node` process (loop connector: real losetup, mkfs and mount on a file in a temp
 * "simulator data dir"), scraped over HTTP and parsed before and after a NodeStageVolume and a NodeUnstageVolume.
 * Needs root; otherwise the suite says so and is skipped.
 */

describeRoot('metrics of a node process, scraped and parsed', () => {
  const VOLUME = 'vol-metrics-node-1';
  let dir: string;
  let node: CliProcess;
  let client: CsiClient;
  let url: string;
  let staging: string;
  const snap: { before?: Families; staged?: Families; unstaged?: Families } = {};

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-node-metrics-'));
    const dataDir = path.join(dir, 'rds');
    const volumesDir = path.join(dataDir, BASE_PATH.slice(1));
    mkdirSync(volumesDir, { recursive: true });
    const file = path.join(volumesDir, `${VOLUME}.img`);
    writeFileSync(file, '');
    truncateSync(file, 64 * MiB);
    const endpoint = `unix://${path.join(dir, 'csi.sock')}`;
    const port = await freePort();
    node = await spawnCli(
      [
        'node',
        '--endpoint',
        endpoint,
        '--node-id',
        'node-metrics',
        '--connector',
        'loop',
        '--loop-data-dir',
        dataDir,
        '--kubelet-dir',
        dir,
        '--http-listen',
        `127.0.0.1:${port}`,
        '--log-level',
        'info',
      ],
      { RDS_CSI_NQN_PREFIX: NQN_PREFIX, RDS_CSI_RDS_BASE_PATH: BASE_PATH },
      /"http":\d+[^\n]*"msg":"node ready"/,
    );
    url = `http://127.0.0.1:${port}/metrics`;
    client = new CsiClient(endpoint);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, 5000, 'node /healthz');

    snap.before = await scrape(url);
    staging = path.join(dir, 'staging', VOLUME);
    const volumeContext = { nqn: `${NQN_PREFIX}:${VOLUME}`, targetAddress: '127.0.0.1', targetPort: '4420', accessType: 'mount' };
    await client.nodeCall(
      'NodeStageVolume',
      { volumeId: VOLUME, stagingTargetPath: staging, volumeCapability: MOUNT_CAP('ext4'), volumeContext },
      30000,
    );
    snap.staged = await scrape(url);
    await client.nodeCall('NodeUnstageVolume', { volumeId: VOLUME, stagingTargetPath: staging }, 30000);
    snap.unstaged = await scrape(url);
  });

  afterAll(async () => {
    client?.close();
    await node?.kill();
    if (dir) cleanupDir(dir); // unmounts and detaches only what is under dir
  });

  const count = (f: Families | undefined, labels: Record<string, string>): number =>
    histogramSeries(f!, 'rds_csi_node_tool_duration_seconds', labels)?.count ?? 0;
  /** Observations of one tool, summed over its outcomes. */
  const anyOutcome = (f: Families | undefined, tool: string): number =>
    histogram(f!, 'rds_csi_node_tool_duration_seconds')
      .filter((s) => s.labels.tool === tool)
      .reduce((n, s) => n + s.count, 0);
  /** Observations of every tool, summed over tools and outcomes. */
  const allTools = (f: Families | undefined): number => histogram(f!, 'rds_csi_node_tool_duration_seconds').reduce((n, s) => n + s.count, 0);

  it('the stage really happened and was undone', () => {
    expect(isMountPoint(staging)).toBe(false);
    expect(snap.unstaged).toBeDefined();
  });

  it('rds_csi_node_tool_duration_seconds timed the host tools of NodeStageVolume: attach, probe, mkfs, mount', () => {
    expect(family(snap.staged!, 'rds_csi_node_tool_duration_seconds').type).toBe('histogram');
    for (const tool of ['losetup', 'mkfs.ext4', 'mount']) {
      const moved = count(snap.staged, { tool, outcome: 'ok' }) - count(snap.before, { tool, outcome: 'ok' });
      expect([tool, moved]).toEqual([tool, 1]);
    }
    // blkid -p on a blank device exits 2 ("nothing found"), which the runner labels outcome="failed"; any outcome counts.
    expect(anyOutcome(snap.staged, 'blkid')).toBeGreaterThan(anyOutcome(snap.before, 'blkid'));
    const mkfs = histogramSeries(snap.staged!, 'rds_csi_node_tool_duration_seconds', { tool: 'mkfs.ext4', outcome: 'ok' })!;
    expect(mkfs.count).toBe(1); // formatted once, on an empty device
    expect(mkfs.sum).toBeGreaterThan(0);
    expect(histogramSeries(snap.staged!, 'rds_csi_node_tool_duration_seconds', { outcome: 'timeout' })).toBeUndefined();
  });

  it('NodeUnstageVolume moved it again (umount, losetup --detach)', () => {
    expect(allTools(snap.unstaged)).toBeGreaterThan(allTools(snap.staged));
    expect(count(snap.unstaged, { tool: 'umount', outcome: 'ok' })).toBeGreaterThan(count(snap.staged, { tool: 'umount', outcome: 'ok' }));
    expect(count(snap.unstaged, { tool: 'losetup', outcome: 'ok' })).toBeGreaterThan(count(snap.staged, { tool: 'losetup', outcome: 'ok' }));
  });

  it('rds_csi_rpc_duration_seconds counted the Node RPCs by method and code', () => {
    const stage = { method: 'Node.NodeStageVolume', code: 'OK' };
    expect(histogramSeries(snap.before!, 'rds_csi_rpc_duration_seconds', stage)).toBeUndefined();
    expect(histogramSeries(snap.staged!, 'rds_csi_rpc_duration_seconds', stage)?.count).toBe(1);
    expect(histogramSeries(snap.unstaged!, 'rds_csi_rpc_duration_seconds', { method: 'Node.NodeUnstageVolume', code: 'OK' })?.count).toBe(1);
  });

  it('the orphan counter is there and counted nothing (no connection of ours was orphaned)', () => {
    expect(family(snap.unstaged!, 'rds_csi_node_orphans_disconnected_total').type).toBe('counter');
    expect(value(snap.unstaged!, 'rds_csi_node_orphans_disconnected_total')).toBe(0);
  });

  it('names and shapes follow the Prometheus conventions; default process metrics are on', () => {
    expect(conventionProblems(snap.unstaged!, 'node')).toEqual([]);
  });
});
