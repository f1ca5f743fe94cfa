import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { CapacityControllerEmulation } from '../support/capacity-controller';
import { BLOCK_RWX, CsiClient, codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { FakeKube } from '../support/fake-kube';
import { spawnCli, type CliProcess } from '../support/processes';
import { waitFor } from '../support/wait';
import { waitForSockets } from '../../src/runtime/wait-sockets';

/**
 * Fencing reconciled with Kubernetes: controller and worker processes (as in production) talk to a fake API
 * server through @kubernetes/client-node — Node objects, Events on the PVC, VolumeAttachments.
 */
const MiB = 1024 * 1024;
const RWO_BLOCK = { block: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } };

describe('fencing with Kubernetes', () => {
  let h: Harness;
  const kube = new FakeKube();
  const procs: CliProcess[] = [];
  const clients: CsiClient[] = [];
  let kubeconfig: string;

  const env = (): Record<string, string> => ({
    RDS_CSI_RDS_PASSWORD: 'secret',
    RDS_CSI_WORKER_LOCK_MS: '2000',
    RDS_CSI_WORKER_STALLED_INTERVAL_MS: '500',
    RDS_CSI_WORKER_LEASE_MS: '2000',
    RDS_CSI_FENCING_RECONCILE_INTERVAL_MS: '1000',
  });
  const common = (): string[] => [
    '--redis-url',
    h.redis.url,
    '--rds-address',
    `${h.sim.host}:${h.sim.port}`,
    '--kubeconfig',
    kubeconfig,
    '--log-level',
    'info',
  ];
  async function worker(): Promise<CliProcess> {
    const p = await spawnCli(['worker', ...common()], env(), /worker ready/);
    procs.push(p);
    return p;
  }
  async function controller(name: string, extra: string[] = []): Promise<{ proc: CliProcess; client: CsiClient }> {
    const endpoint = `unix://${path.join(h.dir, `${name}.sock`)}`;
    const proc = await spawnCli(['controller', '--endpoint', endpoint, ...common(), ...extra], env(), /controller ready/);
    procs.push(proc);
    await waitForSockets([endpoint], 10000);
    const client = new CsiClient(endpoint);
    clients.push(client);
    return { proc, client };
  }
  const createVol = async (c: CsiClient, name: string, cap: object, window?: string) =>
    (
      await c.ctl(
        'CreateVolume',
        {
          name,
          capacityRange: { requiredBytes: String(MiB) },
          volumeCapabilities: [cap],
          parameters: {
            'csi.storage.k8s.io/pvc/name': `${name}-pvc`,
            'csi.storage.k8s.io/pvc/namespace': 'apps',
            ...(window ? { migrationWindowSeconds: window } : {}),
          },
        },
        20000,
      )
    ).volume.volumeId as string;
  /** The node plugin as a process, on the loop connector (no device is ever attached here). */
  async function nodePlugin(nodeId: string, extra: string[] = []): Promise<CsiClient> {
    const endpoint = `unix://${path.join(h.dir, `node-${nodeId}.sock`)}`;
    const loopDir = path.join(h.dir, `loop-${nodeId}`);
    const args = [
      'node',
      '--endpoint',
      endpoint,
      '--node-id',
      nodeId,
      '--connector',
      'loop',
      '--loop-data-dir',
      loopDir,
      '--log-level',
      'info',
      ...extra,
    ];
    procs.push(await spawnCli(args, {}, /node ready/));
    await waitForSockets([endpoint], 10000);
    const client = new CsiClient(endpoint);
    clients.push(client);
    return client;
  }
  /**
   * What the kubelet does when node-driver-registrar registers the plugin (kubelet nodeinfomanager): NodeGetInfo's
   * accessible_topology segments become labels of the Node, their keys the driver's topologyKeys in CSINode.
   */
  async function registerNode(nodeClient: CsiClient, nodeName: string): Promise<Record<string, string>> {
    const info = (await nodeClient.nodeCall('NodeGetInfo')) as { nodeId: string; accessibleTopology: { segments: Record<string, string> } | null };
    const segments = info.accessibleTopology?.segments ?? {};
    kube.nodes.add(nodeName);
    kube.nodeLabels.set(nodeName, { 'kubernetes.io/hostname': nodeName, ...segments });
    kube.csiNodes.push({
      metadata: { name: nodeName },
      spec: { drivers: [{ name: 'rds.csi.mikrotik.com', nodeID: info.nodeId, topologyKeys: Object.keys(segments) }] },
    });
    return segments;
  }
  const publish = (c: CsiClient, volumeId: string, nodeId: string, cap: object) =>
    c.ctl('ControllerPublishVolume', { volumeId, nodeId, volumeCapability: cap }, 20000);
  const eventsFor = (pvc: string) => kube.events.filter((e) => e.involvedObject.name === pvc);

  beforeAll(async () => {
    await kube.start();
    // A pool of its own size: free space is then the pool's, not the host file system's, which other processes on
    // the machine change between two capacity polls (an 'updated' object the test did not cause).
    h = await startHarness({ controller: false, sim: { poolSizeBytes: 64 * 1024 * MiB } });
    kubeconfig = path.join(h.dir, 'kubeconfig');
    kube.writeKubeconfig(kubeconfig);
    ['n1', 'n2', 'n3'].forEach((n) => kube.nodes.add(n));
  });
  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(procs.splice(0).map((p) => p.kill('SIGKILL')));
  });
  afterAll(async () => {
    await h.stop();
    await kube.stop();
  });

  it('knows nodes from Node objects and puts migration events on the PVC', async () => {
    const { client } = await controller('c1');
    await worker();
    const vol = await createVol(client, 'vm1', BLOCK_RWX);
    expect((await codeOf(publish(client, vol, 'ghost', BLOCK_RWX))).code).toBe(status.NOT_FOUND);
    await publish(client, vol, 'n1', BLOCK_RWX);
    await publish(client, vol, 'n2', BLOCK_RWX);
    await codeOf(publish(client, vol, 'n3', BLOCK_RWX));
    await client.ctl('ControllerUnpublishVolume', { volumeId: vol, nodeId: 'n1' }, 20000);
    const reasons = eventsFor('vm1-pvc').map((e) => e.reason);
    expect(reasons).toEqual(['MigrationStarted', 'AttachmentConflict', 'MigrationCompleted']);
    expect(eventsFor('vm1-pvc')[0]).toMatchObject({
      namespace: 'apps',
      type: 'Normal',
      involvedObject: { kind: 'PersistentVolumeClaim', namespace: 'apps' },
    });
    expect(eventsFor('vm1-pvc')[1].type).toBe('Warning');
  });

  it('fires the migration timeout even after the controller and worker were restarted in between', async () => {
    const c1 = await controller('before');
    const w1 = await worker();
    const vol = await createVol(c1.client, 'vm2', BLOCK_RWX, '10');
    await publish(c1.client, vol, 'n1', BLOCK_RWX);
    await publish(c1.client, vol, 'n2', BLOCK_RWX);
    await c1.proc.kill('SIGKILL');
    await w1.kill('SIGKILL');
    const c2 = await controller('after');
    await worker();
    await waitFor(() => eventsFor('vm2-pvc').some((e) => e.reason === 'MigrationFailed'), 25000, 'MigrationFailed');
    const got = await c2.client.ctl('ControllerGetVolume', { volumeId: vol });
    expect(got.status.volumeCondition).toMatchObject({ abnormal: true });
    expect((await codeOf(publish(c2.client, vol, 'n3', BLOCK_RWX))).code).toBe(status.FAILED_PRECONDITION);
  }, 60000);

  it('exactly one of two controller processes wins concurrent publishes of an RWO volume', async () => {
    const a = await controller('race-a');
    const b = await controller('race-b');
    await worker();
    await worker();
    const vol = await createVol(a.client, 'race', RWO_BLOCK);
    const res = await Promise.all([codeOf(publish(a.client, vol, 'n1', RWO_BLOCK)), codeOf(publish(b.client, vol, 'n2', RWO_BLOCK))]);
    expect(res.map((r) => r.code ?? 0).sort()).toEqual([0, status.FAILED_PRECONDITION]);
    expect((await a.client.ctl('ControllerGetVolume', { volumeId: vol })).status.publishedNodeIds).toHaveLength(1);
  });

  /** Resolves once `n` scheduled reconcile.attachments runs have finished after `since`. */
  async function reconcileRuns(n: number, since: number): Promise<void> {
    const redis = new Redis(h.redis.url);
    const queue = new Queue('volumes', { connection: redis, prefix: 'rds-csi' });
    try {
      const runs = async (): Promise<number> =>
        (await queue.getJobs(['completed'])).filter((j) => j?.name === 'reconcile.attachments' && (j.processedOn ?? 0) > since).length;
      await waitFor(async () => (await runs()) >= n, 20000, `${n} reconcile.attachments runs`);
    } finally {
      await queue.close();
      redis.disconnect();
    }
  }
  const pv = (name: string, handle: string) => ({
    metadata: { name },
    spec: { csi: { driver: 'rds.csi.mikrotik.com', volumeHandle: handle }, claimRef: { name: `${name}-pvc`, namespace: 'apps' } },
  });
  const va = (name: string, node: string, pvName: string) => ({
    metadata: { name },
    spec: { attacher: 'rds.csi.mikrotik.com', nodeName: node, source: { persistentVolumeName: pvName } },
    status: { attached: true },
  });
  const published = async (c: CsiClient, vol: string): Promise<string[]> =>
    (await c.ctl('ControllerGetVolume', { volumeId: vol })).status.publishedNodeIds as string[];

  it("keeps a deleted node's attachment while its VolumeAttachment remains; clears it once the VA is gone", async () => {
    const { client } = await controller('node-gone');
    await worker();
    const vol = await createVol(client, 'gone', RWO_BLOCK);
    kube.nodes.add('n4');
    await publish(client, vol, 'n4', RWO_BLOCK);
    kube.pvs = [pv('pv-gone', vol)];
    // Another driver's VA for the same node does not hold anything.
    kube.vas = [
      va('va-gone', 'n4', 'pv-gone'),
      {
        ...va('va-other', 'n4', 'pv-gone'),
        spec: { attacher: 'other.csi.example.com', nodeName: 'n4', source: { persistentVolumeName: 'pv-gone' } },
      },
    ];
    // The Node goes; Kubernetes still holds the VolumeAttachment (pod GC and the attach-detach controller come later).
    const deletedAt = Date.now();
    kube.nodes.delete('n4');
    await reconcileRuns(2, deletedAt);
    expect(await published(client, vol)).toEqual(['n4']);
    const refused = await codeOf(publish(client, vol, 'n1', RWO_BLOCK));
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    expect(refused.details).toContain('n4');
    // The VA is detached and deleted: the next reconcile clears the attachment, with an event.
    kube.vas = kube.vas.filter((v) => (v as { metadata: { name: string } }).metadata.name !== 'va-gone');
    await waitFor(async () => (await published(client, vol)).length === 0, 15000, 'the stale attachment to clear');
    await waitFor(() => eventsFor('gone-pvc').some((e) => e.reason === 'StaleAttachmentCleared'), 5000, 'the event');
    expect((await publish(client, vol, 'n1', RWO_BLOCK)).publishContext.nqn).toContain(vol);
    kube.vas = [];
    kube.pvs = [];
  }, 60000);

  it('ControllerUnpublishVolume for a deleted node (as external-attacher sends it, node id from the VA) answers OK and clears it', async () => {
    const { client } = await controller('node-gone-unpublish');
    await worker();
    const vol = await createVol(client, 'gone2', RWO_BLOCK);
    kube.nodes.add('n5');
    await publish(client, vol, 'n5', RWO_BLOCK);
    kube.pvs = [pv('pv-gone2', vol)];
    kube.vas = [va('va-gone2', 'n5', 'pv-gone2')];
    const deletedAt = Date.now();
    kube.nodes.delete('n5');
    await reconcileRuns(1, deletedAt);
    expect(await published(client, vol)).toEqual(['n5']);
    await client.ctl('ControllerUnpublishVolume', { volumeId: vol, nodeId: 'n5' }, 20000);
    expect(await published(client, vol)).toEqual([]);
    expect((await publish(client, vol, 'n1', RWO_BLOCK)).publishContext.nqn).toContain(vol);
    kube.vas = [];
    kube.pvs = [];
  }, 60000);

  it('rebuilds attachment records from VolumeAttachments and clears those of deleted nodes', async () => {
    const { client } = await controller('rebuild');
    await worker();
    const vol = await createVol(client, 'rebuilt', RWO_BLOCK);
    await publish(client, vol, 'n3', RWO_BLOCK);
    // Redis loses the attachment records; the cluster still has the VolumeAttachment.
    const redis = new Redis(h.redis.url);
    await redis.del('rds-csi:state:attachments');
    await redis.quit();
    kube.pvs = [
      {
        metadata: { name: 'pv-rebuilt' },
        spec: { csi: { driver: 'rds.csi.mikrotik.com', volumeHandle: vol }, claimRef: { name: 'rebuilt-pvc', namespace: 'apps' } },
      },
    ];
    kube.vas = [
      {
        metadata: { name: 'va-1' },
        spec: { attacher: 'rds.csi.mikrotik.com', nodeName: 'n3', source: { persistentVolumeName: 'pv-rebuilt' } },
        status: { attached: true },
      },
    ];
    await waitFor(
      async () => (await client.ctl('ControllerGetVolume', { volumeId: vol })).status.publishedNodeIds.includes('n3'),
      15000,
      'the rebuild',
    );
    // n3 is deleted from the cluster and its VolumeAttachment detached: its attachment is cleared, with an event.
    kube.nodes.delete('n3');
    kube.vas = [];
    await waitFor(
      async () => (await client.ctl('ControllerGetVolume', { volumeId: vol })).status.publishedNodeIds.length === 0,
      15000,
      'the stale attachment to clear',
    );
    await waitFor(() => eventsFor('rebuilt-pvc').some((e) => e.reason === 'StaleAttachmentCleared'), 5000, 'the event');
    expect((await publish(client, vol, 'n1', RWO_BLOCK)).publishContext.nqn).toContain(vol);
  }, 60000);

  it('keeps the CSIStorageCapacity objects external-provisioner makes from the topology, poll after poll', async () => {
    // Two RDS backends in one cluster: cap-a reaches rds-a (this controller), cap-b reaches rds-b (another one).
    const segA = await registerNode(await nodePlugin('cap-a', ['--rds-backend', 'rds-a']), 'cap-a');
    const segB = await registerNode(await nodePlugin('cap-b', ['--rds-backend', 'rds-b']), 'cap-b');
    expect(segA).toEqual({ 'rds.csi.mikrotik.com/backend': 'rds-a' });
    expect(segB).toEqual({ 'rds.csi.mikrotik.com/backend': 'rds-b' });
    kube.storageClasses = [
      {
        metadata: { name: 'rds-wffc' },
        provisioner: 'rds.csi.mikrotik.com',
        parameters: { 'csi.storage.k8s.io/fstype': 'ext4' },
        volumeBindingMode: 'WaitForFirstConsumer',
      },
      { metadata: { name: 'rds-immediate' }, provisioner: 'rds.csi.mikrotik.com', volumeBindingMode: 'Immediate' },
      { metadata: { name: 'other' }, provisioner: 'other.csi.example.com', volumeBindingMode: 'WaitForFirstConsumer' },
    ];
    const { client } = await controller('capacity', ['--rds-backend', 'rds-a']);
    const capacity = new CapacityControllerEmulation({
      apiUrl: kube.url,
      driverName: 'rds.csi.mikrotik.com',
      namespace: 'rds-csi',
      ownerUid: 'deploy-uid',
      csi: client,
    });
    const segments = await capacity.segments();
    expect(segments).toEqual(expect.arrayContaining([segA, segB]));
    expect(segments).toHaveLength(2);

    // First poll: one object per segment for the WaitForFirstConsumer class.
    const first = await capacity.poll();
    expect(first).toMatchObject({ obsolete: [], updated: [], kept: [] });
    expect(first.created).toHaveLength(2);
    const objects = () =>
      [...kube.capacities.values()] as Array<{ metadata: { name: string }; storageClassName: string; nodeTopology: object; capacity: string }>;
    const byBackend = (b: string) =>
      objects().find((o) => JSON.stringify(o.nodeTopology) === JSON.stringify({ matchLabels: { 'rds.csi.mikrotik.com/backend': b } }));
    expect(byBackend('rds-a')).toMatchObject({ storageClassName: 'rds-wffc' });
    expect(Number(byBackend('rds-a')?.capacity)).toBeGreaterThan(0);
    // The other backend's nodes hold none of this pool.
    expect(byBackend('rds-b')?.capacity).toBe('0');
    const names = objects()
      .map((o) => o.metadata.name)
      .sort();

    // Poll again: the same objects are found (not obsolete). One whose capacity no longer matches GetCapacity
    // (here changed behind its back) is updated in place, as when the pool's free space changes.
    const a = byBackend('rds-a')!;
    kube.capacities.set(`rds-csi/${a.metadata.name}`, { ...(a as object), capacity: '1' });
    const second = await capacity.poll();
    expect(second.obsolete).toEqual([]);
    expect(second.created).toEqual([]);
    expect(second.updated).toEqual([a.metadata.name]);
    expect([...second.updated, ...second.kept].sort()).toEqual(names);
    const now = await client.ctl('GetCapacity', { accessibleTopology: { segments: segA } });
    expect(Number(byBackend('rds-a')?.capacity)).toBeGreaterThan(1);
    expect(Math.abs(Number(byBackend('rds-a')?.capacity) - Number(now.availableCapacity))).toBeLessThan(64 * MiB);
    // external-provisioner before v5 (placeholder capability with an unset access mode) keeps them too.
    const old = new CapacityControllerEmulation({
      apiUrl: kube.url,
      driverName: 'rds.csi.mikrotik.com',
      namespace: 'rds-csi',
      ownerUid: 'deploy-uid',
      csi: client,
      placeholderCapability: true,
    });
    const third = await old.poll();
    expect(third).toMatchObject({ obsolete: [], created: [], updated: [] });
    expect(
      objects()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(names);

    // The field failure, reproduced by the same emulation: a driver whose nodes report no topology gets the empty
    // segment, and its object is obsolete (deleted) on the very next poll.
    kube.csiNodes.push({ metadata: { name: 'cap-a' }, spec: { drivers: [{ name: 'notopo.csi.example.com', nodeID: 'cap-a', topologyKeys: null }] } });
    kube.storageClasses.push({ metadata: { name: 'notopo' }, provisioner: 'notopo.csi.example.com', volumeBindingMode: 'WaitForFirstConsumer' });
    const noTopology = new CapacityControllerEmulation({
      apiUrl: kube.url,
      driverName: 'notopo.csi.example.com',
      namespace: 'rds-csi',
      ownerUid: 'other-uid',
      csi: client,
    });
    expect((await noTopology.poll()).created).toHaveLength(1);
    expect((await noTopology.poll()).obsolete).toHaveLength(1);
    ['cap-a', 'cap-b'].forEach((n) => kube.nodes.delete(n));
    kube.csiNodes = [];
    kube.storageClasses = [];
    kube.capacities.clear();
  });

  it('puts provisioning failures an operator must act on as one rate-limited Warning event on the PVC', async () => {
    const { client } = await controller('events');
    await worker();
    h.sim.faults.trapNext('/disk/add', 'not enough space', 2);
    const req = {
      name: 'full',
      capacityRange: { requiredBytes: String(MiB) },
      volumeCapabilities: [RWO_BLOCK],
      parameters: { 'csi.storage.k8s.io/pvc/name': 'full-pvc', 'csi.storage.k8s.io/pvc/namespace': 'apps' },
    };
    expect((await codeOf(client.ctl('CreateVolume', req, 20000))).code).toBe(status.RESOURCE_EXHAUSTED);
    expect((await codeOf(client.ctl('CreateVolume', req, 20000))).code).toBe(status.RESOURCE_EXHAUSTED);
    await waitFor(() => eventsFor('full-pvc').length > 0, 5000, 'the PoolFull event');
    expect(eventsFor('full-pvc').map((e) => e.reason)).toEqual(['PoolFull']);
    expect(eventsFor('full-pvc')[0]).toMatchObject({ type: 'Warning', message: expect.stringMatching(/not enough space|free/) });
    expect((await client.ctl('CreateVolume', req, 20000)).volume.volumeId).toBeDefined();
  });
});
