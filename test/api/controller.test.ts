import { status } from '@grpc/grpc-js';
import { statSync } from 'node:fs';
import path from 'node:path';
import { BLOCK_RWX, CsiClient, MOUNT_RWO, codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { createLogger } from '../../src/log/logger';
import { startNode } from '../../src/runtime/node-app';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PVC = 'pvc-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0';
/** The driver's topology segment with the default driver name and backend (src/domain/topology.ts). */
const SEGMENT = { 'rds.csi.mikrotik.com/backend': 'default' };

function createReq(name: string, bytes = 64 * MiB, caps: unknown[] = [MOUNT_RWO], parameters: Record<string, string> = {}) {
  return { name, capacityRange: { requiredBytes: String(bytes) }, volumeCapabilities: caps, parameters };
}

describe('controller against redis-server and the RouterOS simulator', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('identifies itself and is ready only when Redis and RDS answer', async () => {
    const info = await h.client.id('GetPluginInfo');
    expect(info.name).toBe('rds.csi.mikrotik.com');
    expect(info.vendorVersion).toMatch(/^\d+\.\d+\.\d+/);
    const caps = await h.client.id('GetPluginCapabilities');
    expect(caps.capabilities).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ service: { type: 'CONTROLLER_SERVICE' } }),
        expect.objectContaining({ volumeExpansion: { type: 'ONLINE' } }),
      ]),
    );
    expect((await h.client.id('Probe')).ready.value).toBe(true);
    await h.sim.faults.setDown(true);
    try {
      expect((await h.client.id('Probe')).ready.value).toBe(false);
    } finally {
      await h.sim.faults.setDown(false);
    }
    // The breaker closes again once RDS answers.
    const until = Date.now() + 10000;
    while (!(await h.client.id('Probe')).ready.value && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect((await h.client.id('Probe')).ready.value).toBe(true);
  });

  it('advertises its controller capabilities', async () => {
    const res = await h.client.ctl('ControllerGetCapabilities');
    const types = res.capabilities.map((c: { rpc: { type: string } }) => c.rpc.type);
    expect(types).toEqual(expect.arrayContaining(['CREATE_DELETE_VOLUME', 'LIST_VOLUMES', 'GET_CAPACITY', 'GET_VOLUME']));
    expect(types).not.toContain('MODIFY_VOLUME');
  });

  it('creates a volume through the queue: exact size, real sparse file, exported', async () => {
    const res = await h.client.ctl('CreateVolume', createReq(PVC, 64 * MiB));
    expect(res.volume.volumeId).toBe(PVC);
    expect(res.volume.capacityBytes).toBe(String(64 * MiB));
    expect(res.volume.volumeContext).toMatchObject({ nqn: `nqn.2026-11.com.mikrotik.rds-csi:${PVC}`, targetPort: '4420', accessType: 'mount' });
    const disk = h.sim.disks().find((d) => d.slot === PVC);
    expect(disk).toBeDefined();
    expect(disk).toMatchObject({
      filePath: `/pool/rds-csi/${PVC}.img`,
      fileSize: 64 * MiB,
      nvmeTcpExport: true,
      nvmeTcpServerNqn: `nqn.2026-11.com.mikrotik.rds-csi:${PVC}`,
    });
    const st = statSync(path.join(h.sim.dataDir, 'pool/rds-csi', `${PVC}.img`));
    expect(st.size).toBe(64 * MiB);
    expect(st.blocks * 512).toBeLessThan(64 * MiB);
  });

  it('answers a repeated request with the same volume, concurrently and after completion, with one disk', async () => {
    const name = 'idempotent-volume';
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => h.client.ctl('CreateVolume', createReq(name, 10 * MiB))));
    const ids = new Set(results.map((r) => r.volume.volumeId));
    expect(ids.size).toBe(1);
    const again = await h.client.ctl('CreateVolume', createReq(name, 10 * MiB));
    expect(again.volume).toEqual(results[0].volume);
    expect(h.sim.disks().filter((d) => d.slot === again.volume.volumeId)).toHaveLength(1);
  });

  it('answers ALREADY_EXISTS for the same name with another size or access type', async () => {
    await h.client.ctl('CreateVolume', createReq('sized', 10 * MiB));
    expect((await codeOf(h.client.ctl('CreateVolume', createReq('sized', 20 * MiB)))).code).toBe(status.ALREADY_EXISTS);
    expect((await codeOf(h.client.ctl('CreateVolume', createReq('sized', 10 * MiB, [BLOCK_RWX])))).code).toBe(status.ALREADY_EXISTS);
  });

  const bad: Array<[string, object, status, RegExp]> = [
    ['no name', { ...createReq(''), name: '' }, status.INVALID_ARGUMENT, /name is required/],
    ['name too long', createReq('x'.repeat(129)), status.INVALID_ARGUMENT, /longer than 128/],
    ['no capabilities', createReq('v', MiB, []), status.INVALID_ARGUMENT, /at least one capability/],
    ['no access type', createReq('v', MiB, [{ accessMode: { mode: 'SINGLE_NODE_WRITER' } }]), status.INVALID_ARGUMENT, /block or mount/],
    ['no access mode', createReq('v', MiB, [{ mount: {} }]), status.INVALID_ARGUMENT, /access_mode/],
    [
      'RWX filesystem',
      createReq('v', MiB, [{ mount: {}, accessMode: { mode: 'MULTI_NODE_MULTI_WRITER' } }]),
      status.INVALID_ARGUMENT,
      /volumeMode: Block/,
    ],
    [
      'unknown fs',
      createReq('v', MiB, [{ mount: { fsType: 'ntfs' }, accessMode: { mode: 'SINGLE_NODE_WRITER' } }]),
      status.INVALID_ARGUMENT,
      /ext4 or xfs/,
    ],
    ['mixed block and mount', createReq('v', MiB, [MOUNT_RWO, BLOCK_RWX]), status.INVALID_ARGUMENT, /mix block and filesystem/],
    [
      'limit below required',
      { ...createReq('v'), capacityRange: { requiredBytes: String(2 * MiB), limitBytes: String(MiB) } },
      status.INVALID_ARGUMENT,
      /exceeds limit_bytes/,
    ],
    ['above maximum', createReq('v', 100 * 1024 * GiB), status.OUT_OF_RANGE, /maximum volume size/],
    ['limit below minimum', { ...createReq('v'), capacityRange: { limitBytes: '1000' } }, status.OUT_OF_RANGE, /minimum volume size/],
    ['unknown parameter', createReq('v', MiB, [MOUNT_RWO], { replicas: '3' }), status.INVALID_ARGUMENT, /unknown StorageClass parameter "replicas"/],
    ['bad parameter value', createReq('v', MiB, [BLOCK_RWX], { migrationWindowSeconds: 'soon' }), status.INVALID_ARGUMENT, /migrationWindowSeconds/],
    [
      'empty content source',
      { ...createReq('v'), volumeContentSource: { snapshot: { snapshotId: '' } } },
      status.INVALID_ARGUMENT,
      /snapshot_id is required/,
    ],
    [
      'missing source snapshot',
      { ...createReq('v'), volumeContentSource: { snapshot: { snapshotId: 'snap-x' } } },
      status.NOT_FOUND,
      /snap-x does not exist/,
    ],
    [
      'missing source volume',
      { ...createReq('v'), volumeContentSource: { volume: { volumeId: 'vol-nope-000000000000' } } },
      status.NOT_FOUND,
      /does not exist/,
    ],
    [
      'a snapshot id as source volume',
      { ...createReq('v'), volumeContentSource: { volume: { volumeId: 'snap-x' } } },
      status.NOT_FOUND,
      /does not exist/,
    ],
  ];
  // The fuzzer's finding A: mkfs.xfs refuses devices under 300 MiB (domain/sizes.ts FS_MIN_BYTES), so a volume whose
  // capabilities ask for xfs is made at least that big — rounded up within limit_bytes, OUT_OF_RANGE below it.
  const XFS = { mount: { fsType: 'xfs' }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };
  const fsMinimum: Array<[string, object, number | RegExp]> = [
    ['xfs, 16 MiB asked: 300 MiB made', createReq('xfs-small', 16 * MiB, [XFS]), 300 * MiB],
    [
      'xfs, no size asked: the default (1 GiB, above the minimum)',
      { ...createReq('xfs-default'), capacityRange: undefined, volumeCapabilities: [XFS] },
      GiB,
    ],
    [
      'xfs beside a mount capability without fs_type',
      createReq('xfs-mixed', 16 * MiB, [{ mount: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } }, XFS]),
      300 * MiB,
    ],
    [
      'xfs, 16 MiB asked, limit 1 GiB: 300 MiB made',
      { ...createReq('xfs-limit', 16 * MiB, [XFS]), capacityRange: { requiredBytes: String(16 * MiB), limitBytes: String(GiB) } },
      300 * MiB,
    ],
    ['xfs, 400 MiB asked: as asked', createReq('xfs-big', 400 * MiB, [XFS]), 400 * MiB],
    ['ext4, 16 MiB asked: as asked', createReq('ext4-small', 16 * MiB), 16 * MiB],
    [
      'xfs, limit 64 MiB',
      { ...createReq('xfs-low-limit', 16 * MiB, [XFS]), capacityRange: { requiredBytes: String(16 * MiB), limitBytes: String(64 * MiB) } },
      /limit 64 MiB is below the minimum volume size 300 MiB \(an xfs file system needs at least 300 MiB; ask for ext4 or allow a larger volume\)/,
    ],
  ];
  it.each(fsMinimum)('sizes for the file system: %s', async (_what, req, want) => {
    const name = (req as { name: string }).name;
    if (want instanceof RegExp) {
      const res = await codeOf(h.client.ctl('CreateVolume', req));
      expect(res.code).toBe(status.OUT_OF_RANGE);
      expect(res.details).toMatch(want);
      expect(h.sim.disks().find((d) => d.slot === name)).toBeUndefined();
      return;
    }
    const res = await h.client.ctl('CreateVolume', req);
    expect(res.volume.capacityBytes).toBe(String(want));
    expect(h.sim.disks().find((d) => d.slot === res.volume.volumeId)?.fileSize).toBe(want);
    expect((await h.client.ctl('CreateVolume', req)).volume).toEqual(res.volume); // the same request again: the same volume
    await h.client.ctl('DeleteVolume', { volumeId: res.volume.volumeId });
  });

  it.each(bad)('rejects %s before anything reaches the queue', async (_what, req, code, message) => {
    const before = h.sim.disks().length;
    const res = await codeOf(h.client.ctl('CreateVolume', req));
    expect(res.code).toBe(code);
    expect(res.details).toMatch(message);
    expect(h.sim.disks().length).toBe(before);
  });

  it('accepts CSI metadata parameters and RWX block', async () => {
    const res = await h.client.ctl(
      'CreateVolume',
      createReq('vm-disk', 8 * MiB, [BLOCK_RWX], {
        'csi.storage.k8s.io/pvc/name': 'vm',
        'csi.storage.k8s.io/pvc/namespace': 'default',
        migrationWindowSeconds: '120',
      }),
    );
    expect(res.volume.volumeContext).toMatchObject({ accessType: 'block', migrationWindowSeconds: '120' });
  });

  it('lists volumes page by page; a foreign token is ABORTED', async () => {
    for (let i = 0; i < 5; i++) await h.client.ctl('CreateVolume', createReq(`list-${i}`, MiB));
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const res = await h.client.ctl('ListVolumes', { maxEntries: 2, startingToken: token });
      expect(res.entries.length).toBeLessThanOrEqual(2);
      seen.push(...res.entries.map((e: { volume: { volumeId: string } }) => e.volume.volumeId));
      token = res.nextToken;
      pages++;
    } while (token && pages < 50);
    expect(new Set(seen).size).toBe(seen.length);
    const all = await h.client.ctl('ListVolumes', {});
    expect(seen.sort()).toEqual(all.entries.map((e: { volume: { volumeId: string } }) => e.volume.volumeId).sort());
    expect(seen.length).toBeGreaterThanOrEqual(5);
    expect((await codeOf(h.client.ctl('ListVolumes', { startingToken: 'not-a-token' }))).code).toBe(status.ABORTED);
    expect((await codeOf(h.client.ctl('ListVolumes', { maxEntries: -1 }))).code).toBe(status.INVALID_ARGUMENT);
  });

  it('gets a volume with its condition; NOT_FOUND for unknown ids', async () => {
    const res = await h.client.ctl('ControllerGetVolume', { volumeId: PVC });
    expect(res.volume.volumeId).toBe(PVC);
    expect(res.status.volumeCondition).toMatchObject({ abnormal: false });
    expect((await codeOf(h.client.ctl('ControllerGetVolume', { volumeId: 'vol-nope-000000000000' }))).code).toBe(status.NOT_FOUND);
    expect((await codeOf(h.client.ctl('ControllerGetVolume', { volumeId: '' }))).code).toBe(status.INVALID_ARGUMENT);
  });

  it('validates capabilities against the volume', async () => {
    const ok = await h.client.ctl('ValidateVolumeCapabilities', { volumeId: PVC, volumeCapabilities: [MOUNT_RWO] });
    expect(ok.confirmed.volumeCapabilities).toHaveLength(1);
    const wrong = await h.client.ctl('ValidateVolumeCapabilities', { volumeId: PVC, volumeCapabilities: [BLOCK_RWX] });
    expect(wrong.confirmed).toBeNull();
    expect(wrong.message).toMatch(/mount access, not block/);
    const rwxFs = await h.client.ctl('ValidateVolumeCapabilities', {
      volumeId: PVC,
      volumeCapabilities: [{ mount: {}, accessMode: { mode: 'MULTI_NODE_MULTI_WRITER' } }],
    });
    expect(rwxFs.message).toMatch(/volumeMode: Block/);
    expect(
      (await codeOf(h.client.ctl('ValidateVolumeCapabilities', { volumeId: 'vol-nope-000000000000', volumeCapabilities: [MOUNT_RWO] }))).code,
    ).toBe(status.NOT_FOUND);
    expect((await codeOf(h.client.ctl('ValidateVolumeCapabilities', { volumeId: PVC }))).code).toBe(status.INVALID_ARGUMENT);
  });

  it('reports capacity from the pool', async () => {
    const res = await h.client.ctl('GetCapacity', { volumeCapabilities: [MOUNT_RWO] });
    expect(Number(res.availableCapacity)).toBeGreaterThan(0);
    expect(res.minimumVolumeSize.value).toBe(String(MiB));
  });

  it('answers GetPluginCapabilities with the same set on the node socket as on the controller socket', async () => {
    const endpoint = `unix://${path.join(h.dir, 'node.sock')}`;
    const loopDataDir = path.join(h.dir, 'node-data');
    const node = await startNode(
      h.cfg,
      { endpoint, node: { nodeId: 'caps-node', connector: 'loop', loopDataDir, orphanIntervalMs: 0 } },
      createLogger('silent'),
    );
    const nodeClient = new CsiClient(endpoint);
    type Cap = { service?: { type: string }; volumeExpansion?: { type: string } };
    const names = (res: { capabilities: Cap[] }) => res.capabilities.map((c) => JSON.stringify(c.service ?? c.volumeExpansion ?? c)).sort();
    try {
      const fromController = names(await h.client.id('GetPluginCapabilities'));
      const fromNode = names(await nodeClient.id('GetPluginCapabilities'));
      expect(fromNode).toEqual(fromController);
      expect(fromNode).toEqual(
        [{ type: 'CONTROLLER_SERVICE' }, { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' }, { type: 'ONLINE' }].map((c) => JSON.stringify(c)).sort(),
      );
      // The node reports the segment the controller's volumes are accessible from.
      const info = await nodeClient.nodeCall('NodeGetInfo');
      expect(info.accessibleTopology).toEqual({ segments: SEGMENT });
    } finally {
      nodeClient.close();
      await node.close();
    }
  });

  // proto-loader hands an access-mode number the CSI enum does not define through as a number.
  const undefinedModes = [99, 1000, -5, 8];
  const rpcsWithModes: Array<[string, (mode: number) => object]> = [
    ['CreateVolume', (mode) => createReq(`bad-mode-${mode < 0 ? 'neg' : mode}`, MiB, [{ block: {}, accessMode: { mode } }])],
    ['ValidateVolumeCapabilities', (mode) => ({ volumeId: PVC, volumeCapabilities: [{ mount: {}, accessMode: { mode } }] })],
    ['ControllerPublishVolume', (mode) => ({ volumeId: PVC, nodeId: 'node-a', volumeCapability: { mount: {}, accessMode: { mode } } })],
    ['GetCapacity', (mode) => ({ volumeCapabilities: [{ mount: {}, accessMode: { mode } }] })],
  ];
  const enumCases = rpcsWithModes.flatMap(([rpc, build]) => undefinedModes.map((mode) => [rpc, mode, build] as const));
  it.each(enumCases)('%s refuses access mode %d, which the CSI enum does not define', async (rpc, mode, build) => {
    const before = h.sim.disks().length;
    const res = await codeOf(h.client.ctl(rpc, build(mode)));
    expect(res.code).toBe(status.INVALID_ARGUMENT);
    expect(res.details).toMatch(new RegExp(`access_mode.mode ${mode} is not a CSI access mode`));
    expect(h.sim.disks().length).toBe(before);
  });

  it('answers GetCapacity for the placeholder capability of external-provisioner before v5 (access mode unset = any)', async () => {
    // The exact request external-provisioner v3/v4 sends (docs/ARCHITECTURE.md#sidecars item 1): mount, empty
    // access_mode, the StorageClass parameters and an empty accessible_topology.
    const placeholder = {
      volumeCapabilities: [{ mount: {}, accessMode: {} }],
      parameters: { 'csi.storage.k8s.io/fstype': 'ext4' },
      accessibleTopology: {},
    };
    const res = await h.client.ctl('GetCapacity', placeholder);
    expect(Number(res.availableCapacity)).toBeGreaterThan(0);
    const unknown = await h.client.ctl('GetCapacity', { volumeCapabilities: [{ block: {}, accessMode: { mode: 'UNKNOWN' } }] });
    expect(unknown.availableCapacity).toBe(res.availableCapacity);
    // Anything else about the capability is still checked.
    expect((await codeOf(h.client.ctl('GetCapacity', { volumeCapabilities: [{ mount: { fsType: 'ntfs' }, accessMode: {} }] }))).code).toBe(
      status.INVALID_ARGUMENT,
    );
  });

  it('answers GetCapacity per topology segment: ours has the pool, a foreign one has nothing', async () => {
    const whole = await h.client.ctl('GetCapacity', { volumeCapabilities: [MOUNT_RWO] });
    const ours = await h.client.ctl('GetCapacity', { accessibleTopology: { segments: SEGMENT } });
    expect(Number(ours.availableCapacity)).toBeGreaterThan(0);
    expect(Number(ours.availableCapacity)).toBeLessThanOrEqual(Number(whole.availableCapacity));
    const foreign: Array<Record<string, string>> = [
      { 'rds.csi.mikrotik.com/backend': 'rds-2' },
      { 'topology.kubernetes.io/zone': 'z1' },
      { 'other.csi.example.com/backend': 'default' },
    ];
    for (const segments of foreign) {
      const res = await h.client.ctl('GetCapacity', { accessibleTopology: { segments } });
      expect(res.availableCapacity).toBe('0');
      expect(res.maximumVolumeSize.value).toBe('0');
    }
  });

  it('reports the segment as accessible_topology of its volumes and honours requisite topology', async () => {
    const created = await h.client.ctl('CreateVolume', createReq('topo-vol', MiB));
    expect(created.volume.accessibleTopology).toEqual([{ segments: SEGMENT }]);
    const listed = await h.client.ctl('ListVolumes', {});
    expect(
      listed.entries.find((e: { volume: { volumeId: string } }) => e.volume.volumeId === created.volume.volumeId).volume.accessibleTopology,
    ).toEqual([{ segments: SEGMENT }]);
    // Requisite containing our segment (among others) and preferred-only requests are provisioned here.
    const withOurs = {
      requisite: [{ segments: { 'rds.csi.mikrotik.com/backend': 'rds-2' } }, { segments: SEGMENT }],
      preferred: [{ segments: SEGMENT }],
    };
    expect(
      (await h.client.ctl('CreateVolume', { ...createReq('topo-ok', MiB), accessibilityRequirements: withOurs })).volume.accessibleTopology,
    ).toEqual([{ segments: SEGMENT }]);
    const preferredOnly = { preferred: [{ segments: { 'rds.csi.mikrotik.com/backend': 'rds-2' } }] };
    expect(
      (await h.client.ctl('CreateVolume', { ...createReq('topo-pref', MiB), accessibilityRequirements: preferredOnly })).volume.volumeId,
    ).toBeDefined();
    // A requisite set without our segment cannot be satisfied: the spec's "Unable to provision in accessible_topology".
    const before = h.sim.disks().length;
    const elsewhere = { requisite: [{ segments: { 'rds.csi.mikrotik.com/backend': 'rds-2' } }] };
    const res = await codeOf(h.client.ctl('CreateVolume', { ...createReq('topo-elsewhere', MiB), accessibilityRequirements: elsewhere }));
    expect(res.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(res.details).toMatch(/rds\.csi\.mikrotik\.com\/backend.*default/);
    expect(h.sim.disks().length).toBe(before);
  });

  it('deletes the disk and its backing file; repeats and unknown ids are OK', async () => {
    const res = await h.client.ctl('CreateVolume', createReq('to-delete', 4 * MiB));
    const id = res.volume.volumeId as string;
    const file = path.join(h.sim.dataDir, 'pool/rds-csi', `${id}.img`);
    expect(statSync(file).size).toBe(4 * MiB);
    await h.client.ctl('DeleteVolume', { volumeId: id });
    expect(h.sim.disks().find((d) => d.slot === id)).toBeUndefined();
    expect(() => statSync(file)).toThrow();
    await h.client.ctl('DeleteVolume', { volumeId: id });
    await h.client.ctl('DeleteVolume', { volumeId: 'vol-never-existed-000000000000' });
    await h.client.ctl('DeleteVolume', { volumeId: 'snap-not-a-volume' });
    expect((await codeOf(h.client.ctl('DeleteVolume', { volumeId: '' }))).code).toBe(status.INVALID_ARGUMENT);
    // The same name can be created again afterwards, as a new empty volume.
    const again = await h.client.ctl('CreateVolume', createReq('to-delete', 4 * MiB));
    expect(again.volume.volumeId).toBe(id);
    expect(h.sim.disks().filter((d) => d.slot === id)).toHaveLength(1);
  });

  it('answers ABORTED while a job outlives the deadline, then the result on retry', async () => {
    h.sim.faults.set({ latencyMs: 400 });
    try {
      const req = createReq('slow-volume', MiB);
      const first = await codeOf(h.client.ctl('CreateVolume', req, 1000));
      expect(first.code).toBe(status.ABORTED);
      expect(first.details).toMatch(/in progress/);
      let res: { volume: { capacityBytes: string; volumeId: string } } | undefined;
      for (let i = 0; i < 20 && !res; i++) {
        try {
          res = await h.client.ctl('CreateVolume', req, 1500);
        } catch (err) {
          expect((err as { code: number }).code).toBe(status.ABORTED);
        }
      }
      expect(res?.volume.capacityBytes).toBe(String(MiB));
      expect(h.sim.disks().filter((d) => d.slot === res?.volume.volumeId)).toHaveLength(1);
    } finally {
      h.sim.faults.set({ latencyMs: 0 });
    }
  });

  it('maps a full pool to RESOURCE_EXHAUSTED and lets a corrected request through', async () => {
    h.sim.faults.trapNext('/disk/add', 'not enough space', 1);
    const res = await codeOf(h.client.ctl('CreateVolume', createReq('pool-full', MiB)));
    expect(res.code).toBe(status.RESOURCE_EXHAUSTED);
    const ok = await h.client.ctl('CreateVolume', createReq('pool-full', MiB));
    expect(ok.volume.capacityBytes).toBe(String(MiB));
  });

  it('answers UNAVAILABLE within 2 s when RDS is down', async () => {
    await h.sim.faults.setDown(true);
    try {
      const started = Date.now();
      const res = await codeOf(h.client.ctl('CreateVolume', createReq('rds-down', MiB), 10000));
      expect(res.code).toBe(status.UNAVAILABLE);
      expect(Date.now() - started).toBeLessThan(2000);
      const get = await codeOf(h.client.ctl('GetCapacity', {}));
      expect(get.code).toBe(status.UNAVAILABLE);
    } finally {
      await h.sim.faults.setDown(false);
    }
  });

  it('answers UNIMPLEMENTED for RPCs it does not offer', async () => {
    expect((await codeOf(h.client.ctl('ControllerModifyVolume', { volumeId: PVC }))).code).toBe(status.UNIMPLEMENTED);
    expect((await codeOf(h.client.ctl('GetSnapshot', { snapshotId: 'snap-x' }))).code).toBe(status.UNIMPLEMENTED);
  });
});

describe('controller with a small pool', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ sim: { poolSizeBytes: 256 * MiB } });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('answers RESOURCE_EXHAUSTED when the pool lacks the space', async () => {
    const res = await codeOf(h.client.ctl('CreateVolume', createReq('too-big', 512 * MiB)));
    expect(res.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(res.details).toMatch(/free/);
    expect(h.sim.disks()).toHaveLength(0);
  });

  it('a storm cannot over-commit the pool within the free-space reading: of two concurrent 150 MiB creates, one is refused', async () => {
    // The worker reads the pool at most once per TTL (src/workers/pool-space.ts) and subtracts its own adds in flight:
    // both adds overlap here (each command takes 200 ms), and the simulator's files are sparse, so only that
    // subtraction stands between the second add and an over-committed pool.
    h.sim.faults.set({ latencyMs: 200 });
    try {
      const adds = h.sim.stats()['/disk/add'] ?? 0;
      const res = await Promise.all(['storm-1', 'storm-2'].map((n) => codeOf(h.client.ctl('CreateVolume', createReq(n, 150 * MiB), 30000))));
      expect(res.map((r) => r.code ?? status.OK).sort()).toEqual([status.OK, status.RESOURCE_EXHAUSTED].sort());
      expect(res.find((r) => r.code)?.details).toMatch(/free/);
      expect((h.sim.stats()['/disk/add'] ?? 0) - adds).toBe(1);
      expect(h.sim.disks()).toHaveLength(1);
    } finally {
      h.sim.faults.set({ latencyMs: 0 });
    }
  });
});
