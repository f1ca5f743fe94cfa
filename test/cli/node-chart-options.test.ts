import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { NODE_PLUGIN_NODE_OPTIONS } from '../../bench/support/node-options';
import { removeDirSafely } from '../../src/host/safe-remove';
import { CsiClient } from '../support/csi-client';
import { spawnCli, type CliProcess } from '../support/processes';

/**
 * Issue 14 item 4: the chart runs the node plugin with a 64 MiB V8 old generation and the interpreter only
 * (bench/support/node-options.ts, helm/templates/node-daemonset.yaml). Those options must not turn a burst of the
 * largest requests gRPC accepts (4 MiB each) into an out-of-memory abort: a real `rds-csi node` with exactly those
 * NODE_OPTIONS answers 24 concurrent ~3.9 MiB requests, three rounds, with INVALID_ARGUMENT and keeps serving.
 */
describe('the node plugin under the chart’s NODE_OPTIONS', () => {
  let dir: string;
  let node: CliProcess | undefined;
  let client: CsiClient | undefined;
  let exited: string | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-node-options-'));
    mkdirSync(path.join(dir, 'data'));
    const sock = path.join(dir, 'csi.sock');
    const args = ['node', '--endpoint', `unix://${sock}`, '--node-id', 'node-options', '--connector', 'loop'];
    node = await spawnCli(
      [...args, '--loop-data-dir', path.join(dir, 'data'), '--kubelet-dir', dir, '--log-level', 'info'],
      { NODE_OPTIONS: NODE_PLUGIN_NODE_OPTIONS },
      /"msg":"node ready"/,
    );
    node.child.once('exit', (code, signal) => (exited = `exit ${code} ${signal}`));
    client = new CsiClient(`unix://${sock}`);
  });

  afterAll(async () => {
    client?.close();
    await node?.kill();
    if (dir) removeDirSafely(dir);
  });

  it('survives bursts of 4 MiB requests (each refused as INVALID_ARGUMENT)', async () => {
    const c = client;
    if (!c) throw new Error('no client');
    const huge = 'v'.repeat(3.9 * 1024 * 1024);
    const stage = {
      stagingTargetPath: path.join(dir, 'st'),
      volumeCapability: { mount: { fsType: 'ext4' }, accessMode: { mode: 'SINGLE_NODE_WRITER' } },
    };
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.allSettled(
        Array.from({ length: 24 }, (_, i) =>
          i % 2
            ? c.nodeCall('NodeStageVolume', { volumeId: huge, ...stage }, 60000)
            : c.nodeCall('NodeGetVolumeStats', { volumeId: huge, volumePath: dir }, 60000),
        ),
      );
      expect(answers.map((a) => (a.status === 'rejected' ? (a.reason as { code?: number }).code : 'answered'))).toEqual(
        Array(24).fill(status.INVALID_ARGUMENT),
      );
    }
    expect(exited).toBeUndefined();
    await expect(c.id('Probe')).resolves.toBeDefined();
  }, 120000);
});
