import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { hostNqnForNode } from '../../src/domain/host-nqn';
import { NO_HOST } from '../../src/workers/processors/allowed-hosts';
import { codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { FakeKube } from '../support/fake-kube';
import { TEST_ENV, runCli as runCliTo, type CliRun } from '../support/processes';

/**
 * `rds-csi volumes detach --node NODE [--force]` (issue 15 item 6), the compiled binary against the controller stack
 * (in-process controller + worker, storage-side fencing on, the simulator over TCP) and the fake Kubernetes API
 * server for the Node's Ready condition and out-of-service taint: refused while the node is Ready; NotReady, tainted
 * or gone → every volume on it unpublished through fence.detach and its host NQN gone from the disk's allowed hosts;
 * --force on a Ready node; idempotent; standalone needs --force.
 */

const runCli = (args: string[], timeoutMs = 30000): Promise<CliRun> => runCliTo(args, { ...TEST_ENV, RDS_CSI_RDS_PASSWORD: 'secret' }, timeoutMs);

const MiB = 1024 * 1024;
const RWO = { block: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } };

describe('rds-csi volumes detach', () => {
  let h: Harness;
  const kube = new FakeKube();
  let kubeconfig: string;
  let n = 0;

  const detach = (node: string, ...more: string[]): Promise<CliRun> =>
    runCli([
      'volumes',
      'detach',
      '--node',
      node,
      '--redis-url',
      h.redis.url,
      '--rds-address',
      `${h.sim.host}:${h.sim.port}`,
      '--kubeconfig',
      kubeconfig,
      '--kubernetes',
      'on',
      // Shorter than runCli's 30 s kill: a job that has not finished is reported (ABORTED), not killed unseen.
      '--wait-ms',
      '20000',
      ...more,
    ]);
  const allowed = async (vol: string): Promise<string | undefined> => (await h.controller!.rds.getDisk(vol))?.allowHostName;
  const publishedTo = async (vol: string): Promise<string[]> =>
    (await h.client.ctl('ControllerGetVolume', { volumeId: vol })).status.publishedNodeIds as string[];
  /** A volume published to `node`: its disk then allows exactly that node's host NQN. */
  async function volumeOn(node: string): Promise<string> {
    const vol = (
      await h.client.ctl('CreateVolume', { name: `det-${++n}`, capacityRange: { requiredBytes: String(2 * MiB) }, volumeCapabilities: [RWO] }, 20000)
    ).volume.volumeId as string;
    await h.client.ctl('ControllerPublishVolume', { volumeId: vol, nodeId: node, volumeCapability: RWO, readonly: false }, 20000);
    expect(await allowed(vol)).toBe(hostNqnForNode(node));
    return vol;
  }
  function setNode(node: string, ready: 'True' | 'False' | 'Unknown', outOfService = false): void {
    kube.nodes.add(node);
    kube.nodeReady.set(node, ready);
    if (outOfService) kube.nodeTaints.set(node, [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }]);
    else kube.nodeTaints.delete(node);
  }

  beforeAll(async () => {
    await kube.start();
    h = await startHarness({ overrides: { nodes: 'a1,a2,b1,c1,d1,e1,spare', 'kubernetes.mode': 'off', 'fencing.storageSide': true } });
    kubeconfig = path.join(h.dir, 'kubeconfig');
    kube.writeKubeconfig(kubeconfig);
  });
  afterAll(async () => {
    await h?.stop();
    await kube.stop();
  });

  it('refuses while Kubernetes shows the node Ready: nothing unpublished, the host NQN still allowed', async () => {
    setNode('a1', 'True');
    const vol = await volumeOn('a1');
    const r = await detach('a1');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^node a1: Ready=True$/m);
    expect(r.stderr).toMatch(/refused: Kubernetes shows node a1 Ready.*--force/);
    expect(await publishedTo(vol)).toEqual(['a1']);
    expect(await allowed(vol)).toBe(hostNqnForNode('a1'));
    const json = await detach('a1', '--json');
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ node: 'a1', refused: expect.stringMatching(/Ready/), outcomes: [] });
  });

  it.each([
    ['NotReady', 'b1', 'False' as const, false, /^node b1: Ready=False$/m],
    ['Ready=Unknown (node lost)', 'c1', 'Unknown' as const, false, /^node c1: Ready=Unknown$/m],
    ['tainted out-of-service (still Ready)', 'd1', 'True' as const, true, /^node d1: Ready=True, tainted node\.kubernetes\.io\/out-of-service$/m],
  ])(
    '%s: every volume on the node unpublished, its host NQN gone from the disks, another node can publish',
    async (_what, node, ready, taint, line) => {
      setNode(node, ready, taint);
      const [v1, v2] = [await volumeOn(node), await volumeOn(node)];
      const other = await volumeOn('spare');
      // Single-node volume still attached to the lost node: another node is refused until it is detached.
      expect(
        (await codeOf(h.client.ctl('ControllerPublishVolume', { volumeId: v1, nodeId: 'e1', volumeCapability: RWO, readonly: false }, 20000))).code,
      ).toBe(status.FAILED_PRECONDITION);
      const r = await detach(node);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(line);
      for (const v of [v1, v2]) {
        expect(r.stdout).toMatch(new RegExp(`^${v}\\s+detached\\s+unpublished$`, 'm'));
        expect(await publishedTo(v)).toEqual([]);
        expect(await allowed(v)).toBe(NO_HOST);
      }
      expect(await publishedTo(other)).toEqual(['spare']);
      expect(await allowed(other)).toBe(hostNqnForNode('spare'));
      await h.client.ctl('ControllerPublishVolume', { volumeId: v1, nodeId: 'e1', volumeCapability: RWO, readonly: false }, 20000);
      expect(await allowed(v1)).toBe(hostNqnForNode('e1'));
      if (node === 'b1') {
        // Idempotent: a second run finds nothing to do (once: each run of the binary costs seconds).
        const again = await detach(node);
        expect(again.status).toBe(0);
        expect(again.stdout).toMatch(new RegExp(`no volume is attached to node ${node}: nothing to do`));
      }
      await h.client.ctl('ControllerUnpublishVolume', { volumeId: v1, nodeId: 'e1' }, 20000);
    },
  );

  it('--force detaches from a Ready node; a node Kubernetes no longer has needs no --force; a VolumeAttachment left is reported', async () => {
    setNode('a2', 'True');
    const vol = await volumeOn('a2');
    kube.pvs = [{ metadata: { name: 'pv-a2' }, spec: { csi: { driver: 'rds.csi.mikrotik.com', volumeHandle: vol } } }];
    kube.vas = [
      {
        metadata: { name: 'va-a2' },
        spec: { attacher: 'rds.csi.mikrotik.com', nodeName: 'a2', source: { persistentVolumeName: 'pv-a2' } },
        status: { attached: true },
      },
    ];
    const r = await detach('a2', '--force', '--json');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { forced: boolean; outcomes: Array<{ volumeId: string; result: string; detail: string }> };
    expect(report.forced).toBe(true);
    expect(report.outcomes).toEqual([
      { volumeId: vol, result: 'detached', detail: expect.stringMatching(/VolumeAttachment on a2 still says attached/) },
    ]);
    expect(await allowed(vol)).toBe(NO_HOST);
    kube.vas = [];
    kube.pvs = [];

    kube.nodes.delete('a2');
    const gone = await volumeOn('a2');
    const r2 = await detach('a2');
    expect(r2.status).toBe(0);
    expect(r2.stdout).toMatch(/^node a2: no Node object in Kubernetes$/m);
    expect(await allowed(gone)).toBe(NO_HOST);
  });

  it('standalone (no Kubernetes to ask): refused without --force, detached with it', async () => {
    const vol = await volumeOn('a1');
    const standalone = (...more: string[]): Promise<CliRun> =>
      runCli([
        'volumes',
        'detach',
        '--node',
        'a1',
        '--redis-url',
        h.redis.url,
        '--rds-address',
        `${h.sim.host}:${h.sim.port}`,
        '--kubernetes',
        'off',
        '--wait-ms',
        '20000',
        ...more,
      ]);
    const refused = await standalone();
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/no Kubernetes to ask whether node a1 is down.*--force/);
    expect(await allowed(vol)).toBe(hostNqnForNode('a1'));
    const forced = await standalone('--force');
    expect(forced.status).toBe(0);
    expect(forced.stdout).toMatch(/^node a1: no Kubernetes \(standalone\) \(--force\)$/m);
    expect(await allowed(vol)).toBe(NO_HOST);
  });

  it('bad usage exits 2', async () => {
    expect((await runCli(['volumes', 'detach'])).status).toBe(2);
    expect((await detach('a1', '--wait-ms', 'soon')).status).toBe(2);
  });
});
