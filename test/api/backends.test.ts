import { status } from '@grpc/grpc-js';
import { Redis } from 'ioredis';
import { driverState } from '../../src/state/stores';
import { MOUNT_RWO, codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';

/**
 * Issue 16, the controller with two RDS backends: the primary `default` (zone z-a, a 1 GiB pool) and `rds-b` (zone z-b,
 * a 4 GiB pool, its own NVMe/TCP address), each a RouterOS simulator over TCP, with the in-process worker. Which
 * simulator holds a disk is read from the simulators themselves.
 */
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PVC = (n: number): string => `pvc-${String(n).padStart(8, '0')}-1111-2222-3333-444444444444`;

describe('a controller with two RDS backends', () => {
  let h: Harness;
  let key: string;
  const seg = (backend: string): Record<string, string> => (backend === 'default' ? { [key]: 'default' } : { [`${key}.${backend}`]: 'true' });
  const both = (): Record<string, string> => ({ ...seg('default'), ...seg('rds-b') });
  const create = (name: string, parameters: Record<string, string>, extra: object = {}, bytes = 8 * MiB) =>
    h.client.ctl(
      'CreateVolume',
      { name, capacityRange: { requiredBytes: String(bytes) }, volumeCapabilities: [MOUNT_RWO], parameters, ...extra },
      30000,
    );
  const simOf = (backend: string) => (backend === 'default' ? h.sim : h.extraSims.get(backend)!);
  const onSim = (backend: string, slot: string): boolean =>
    simOf(backend)
      .disks()
      .some((d) => d.slot === slot);

  beforeAll(async () => {
    h = await startHarness({
      sim: { poolSizeBytes: GiB },
      overrides: { 'primaryBackend.zone': 'z-a', nodes: 'n1', 'kubernetes.mode': 'off' },
      backends: [{ name: 'rds-b', sim: { poolSizeBytes: 4 * GiB }, settings: { zone: 'z-b', exportAddress: '127.0.0.2', exportPort: 4421 } }],
    });
    key = `${h.cfg.driverName}/backend`;
  });
  afterAll(async () => {
    await h.stop();
  });

  const TWO = { backends: 'default,rds-b' };
  const placements: Array<{ what: string; name: string; params: Record<string, string>; extra?: () => object; bytes?: number; backend: string }> = [
    { what: 'no placement parameter: the primary, as before', name: PVC(1), params: {}, backend: 'default' },
    { what: 'backend: rds-b', name: PVC(2), params: { backend: 'rds-b' }, backend: 'rds-b' },
    { what: 'backends, mostFree (default): the larger free pool', name: PVC(3), params: TWO, backend: 'rds-b' },
    {
      what: 'backends, requisite reaching only the primary',
      name: PVC(4),
      params: TWO,
      extra: () => ({ accessibilityRequirements: { requisite: [{ segments: seg('default') }] } }),
      backend: 'default',
    },
    {
      what: 'backends, preferred order before free space',
      name: PVC(5),
      params: TWO,
      extra: () => ({
        accessibilityRequirements: { requisite: [{ segments: both() }], preferred: [{ segments: seg('default') }, { segments: seg('rds-b') }] },
      }),
      backend: 'default',
    },
    {
      what: 'backends, the preferred backend cannot hold the size: the next',
      name: PVC(6),
      params: TWO,
      bytes: 2 * GiB,
      extra: () => ({ accessibilityRequirements: { preferred: [{ segments: seg('default') }, { segments: seg('rds-b') }] } }),
      backend: 'rds-b',
    },
    {
      what: 'placement: zone, the zone of the first preferred topology naming one',
      name: PVC(7),
      params: { ...TWO, placement: 'zone' },
      extra: () => ({ accessibilityRequirements: { preferred: [{ segments: { ...both(), 'topology.kubernetes.io/zone': 'z-a' } }] } }),
      backend: 'default',
    },
  ];

  it.each(placements)('places a volume: $what', async ({ name, params, extra, bytes, backend }) => {
    const res = await create(name, params, extra?.() ?? {}, bytes);
    const id = res.volume.volumeId as string;
    expect(id).toBe(backend === 'default' ? name : `${name}@${backend}`);
    expect(res.volume.accessibleTopology).toEqual([{ segments: seg(backend) }]);
    expect(onSim(backend, name)).toBe(true);
    expect(onSim(backend === 'default' ? 'rds-b' : 'default', name)).toBe(false);
  });

  const refusals: Array<{ what: string; params: Record<string, string>; extra?: () => object; code: number; message: RegExp }> = [
    { what: 'an unknown backend', params: { backend: 'rds-x' }, code: status.INVALID_ARGUMENT, message: /rds-x.*configured: default, rds-b/ },
    {
      what: 'an unknown one among backends',
      params: { backends: 'rds-b,rds-y' },
      code: status.INVALID_ARGUMENT,
      message: /rds-y.*configured: default, rds-b/,
    },
    { what: 'backend and backends together', params: { backend: 'rds-b', ...TWO }, code: status.INVALID_ARGUMENT, message: /either/ },
    { what: 'an unknown placement', params: { ...TWO, placement: 'random' }, code: status.INVALID_ARGUMENT, message: /mostFree, zone/ },
    {
      what: 'a requisite that reaches none of the class backends',
      params: { backend: 'rds-b' },
      extra: () => ({ accessibilityRequirements: { requisite: [{ segments: seg('default') }] } }),
      code: status.RESOURCE_EXHAUSTED,
      message: /reaches none of the RDS backends/,
    },
  ];

  it.each(refusals)('refuses $what', async ({ params, extra, code, message }) => {
    const disks = h.sim.disks().length + h.extraSims.get('rds-b')!.disks().length;
    const res = await codeOf(create('pvc-refused-0000-0000-0000-000000000000', params, extra?.() ?? {}));
    expect(res.code).toBe(code);
    expect(res.details).toMatch(message);
    expect(h.sim.disks().length + h.extraSims.get('rds-b')!.disks().length).toBe(disks);
  });

  it('a repeated CreateVolume finds the volume where it was placed, whatever placement would choose now', async () => {
    const first = await create(PVC(10), TWO);
    expect(first.volume.volumeId).toBe(`${PVC(10)}@rds-b`);
    // Now the primary would be chosen (preferred), yet the volume of this name is on rds-b.
    const again = await create(PVC(10), TWO, { accessibilityRequirements: { preferred: [{ segments: seg('default') }] } });
    expect(again.volume.volumeId).toBe(`${PVC(10)}@rds-b`);
    expect(onSim('default', PVC(10))).toBe(false);
  });

  it('answers GetCapacity per segment: the class backends that segment reaches, the largest free pool', async () => {
    const cap = async (parameters: Record<string, string>, segments?: Record<string, string>) =>
      Number((await h.client.ctl('GetCapacity', { parameters, ...(segments ? { accessibleTopology: { segments } } : {}) })).availableCapacity);
    const primary = await cap(TWO, seg('default'));
    const b = await cap(TWO, seg('rds-b'));
    expect(primary).toBeGreaterThan(0);
    expect(primary).toBeLessThanOrEqual(GiB);
    expect(b).toBeGreaterThan(3 * GiB);
    // A node reaching both: one volume lives in one pool, so the larger free space, not the sum.
    expect(await cap(TWO, both())).toBe(b);
    expect(await cap(TWO)).toBe(b);
    expect(await cap({}, seg('rds-b'))).toBe(0); // the default class places on the primary only
    expect(await cap({ backend: 'rds-b' }, seg('default'))).toBe(0);
    expect(await cap({ backend: 'rds-b' }, both())).toBe(b);
    expect(await cap({}, both())).toBe(primary);
  });

  it('keeps snapshots and restores on the source backend, and refuses a clone or restore onto another backend', async () => {
    const vol = (await create(PVC(20), { backend: 'rds-b' })).volume.volumeId as string;
    const snap = await h.client.ctl('CreateSnapshot', { name: 'snap-of-b', sourceVolumeId: vol }, 30000);
    const snapId = snap.snapshot.snapshotId as string;
    expect(snapId).toMatch(/^snap-.*@rds-b$/);
    const snapSlot = snapId.split('@')[0];
    expect(onSim('rds-b', snapSlot)).toBe(true);
    expect(onSim('default', snapSlot)).toBe(false);

    // Restore: the class allows rds-b (and the primary, which it would prefer): the restore goes to rds-b.
    const fromSnap = { volumeContentSource: { snapshot: { snapshotId: snapId } } };
    const prefersPrimary = { accessibilityRequirements: { preferred: [{ segments: seg('default') }] } };
    const restored = await create(PVC(21), TWO, { ...fromSnap, ...prefersPrimary });
    expect(restored.volume.volumeId).toBe(`${PVC(21)}@rds-b`);
    expect(onSim('rds-b', PVC(21))).toBe(true);
    const clone = await create(PVC(22), { backend: 'rds-b' }, { volumeContentSource: { volume: { volumeId: vol } } });
    expect(clone.volume.volumeId).toBe(`${PVC(22)}@rds-b`);
    expect(onSim('rds-b', PVC(22))).toBe(true);

    // The class does not allow the source's backend: INVALID_ARGUMENT (CSI: source incompatible with the parameters).
    for (const [params, source] of [
      [{}, fromSnap],
      [{ backend: 'default' }, { volumeContentSource: { volume: { volumeId: vol } } }],
    ] as const) {
      const res = await codeOf(create(PVC(23), params, source));
      expect(res.code).toBe(status.INVALID_ARGUMENT);
      expect(res.details).toContain(`is on backend rds-b; a clone or restore stays on its source's backend`);
    }
    // Allowed by the class but not reachable from the requisite: RESOURCE_EXHAUSTED.
    const res = await codeOf(create(PVC(23), TWO, { ...fromSnap, accessibilityRequirements: { requisite: [{ segments: seg('default') }] } }));
    expect(res.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(onSim('default', PVC(23)) || onSim('rds-b', PVC(23))).toBe(false);
  });

  it("publishes each volume with its own backend's NVMe/TCP target", async () => {
    const onB = (await create(PVC(30), { backend: 'rds-b' })).volume;
    const onPrimary = (await create(PVC(31), {})).volume;
    expect(onB.volumeContext).toMatchObject({ targetAddress: '127.0.0.2', targetPort: '4421' });
    expect(onPrimary.volumeContext).toMatchObject({ targetAddress: h.sim.host, targetPort: '4420' });
    for (const [v, address, port] of [
      [onB, '127.0.0.2', '4421'],
      [onPrimary, h.sim.host, '4420'],
    ] as const) {
      const pub = await h.client.ctl('ControllerPublishVolume', { volumeId: v.volumeId, nodeId: 'n1', volumeCapability: MOUNT_RWO }, 30000);
      expect(pub.publishContext).toMatchObject({
        targetAddress: address,
        targetPort: port,
        nqn: `${h.cfg.nqnPrefix}:${String(v.volumeId).split('@')[0]}`,
      });
      await h.client.ctl('ControllerUnpublishVolume', { volumeId: v.volumeId, nodeId: 'n1' }, 30000);
    }
  });

  it('lists the volumes of every backend with their own segment and condition', async () => {
    await create(PVC(40), { backend: 'rds-b' });
    await create(PVC(41), {});
    // A record of a backend taken out of the configuration since: listed, abnormal, with no target to guess.
    const redis = new Redis(h.redis.url);
    const gone = `${PVC(42)}@rds-gone`;
    await driverState(redis, h.cfg.queuePrefix).volumes.claim({
      id: gone,
      name: PVC(42),
      capacityBytes: 8 * MiB,
      accessType: 'mount',
      paramsKey: '',
      context: {},
      state: 'ready',
      gen: 'g1',
      slot: PVC(42),
      filePath: `/pool/rds-csi/${PVC(42)}.img`,
      nqn: `${h.cfg.nqnPrefix}:${PVC(42)}`,
      createdAt: new Date().toISOString(),
    });
    redis.disconnect();
    const listed = new Map<string, { segments: unknown; abnormal: unknown }>();
    const messages = new Map<string, string>();
    const contexts = new Map<string, object>();
    let token = '';
    do {
      const page = await h.client.ctl('ListVolumes', { maxEntries: 50, startingToken: token });
      for (const e of page.entries ?? []) {
        listed.set(e.volume.volumeId, { segments: e.volume.accessibleTopology[0].segments, abnormal: e.status.volumeCondition.abnormal });
        messages.set(e.volume.volumeId, e.status.volumeCondition.message);
        contexts.set(e.volume.volumeId, e.volume.volumeContext);
      }
      token = page.nextToken ?? '';
    } while (token);
    expect(listed.get(`${PVC(40)}@rds-b`)).toEqual({ segments: seg('rds-b'), abnormal: false });
    expect(listed.get(PVC(41))).toEqual({ segments: seg('default'), abnormal: false });
    expect(listed.get(gone)).toEqual({ segments: seg('rds-gone'), abnormal: true });
    expect(messages.get(gone)).toMatch(/on backend rds-gone, which this driver's configuration does not have/);
    expect(contexts.get(gone)).not.toHaveProperty('targetAddress');
    const got = await h.client.ctl('ControllerGetVolume', { volumeId: `${PVC(40)}@rds-b` });
    expect(got.volume.accessibleTopology).toEqual([{ segments: seg('rds-b') }]);
    expect(got.status.volumeCondition).toMatchObject({ abnormal: false });
  });

  it('deletes a volume and a snapshot on their own backend', async () => {
    const vol = (await create(PVC(50), { backend: 'rds-b' })).volume.volumeId as string;
    const snap = (await h.client.ctl('CreateSnapshot', { name: 'snap-50', sourceVolumeId: vol }, 30000)).snapshot.snapshotId as string;
    await h.client.ctl('DeleteSnapshot', { snapshotId: snap }, 30000);
    await h.client.ctl('DeleteVolume', { volumeId: vol }, 30000);
    expect(onSim('rds-b', PVC(50))).toBe(false);
    expect(onSim('rds-b', snap.split('@')[0])).toBe(false);
  });

  /**
   * Ids this configuration cannot place. A malformed mark (`@-x`) or the primary's name spelled out (`@default`, not
   * the primary's id, which is the bare slot) were never made by this driver: the spec's "does not exist" answer for
   * each RPC (OK for the idempotent deletes and unpublish, NOT_FOUND elsewhere). A well-formed id on a backend the
   * configuration lacks may exist: FAILED_PRECONDITION naming the backend, never a false "deleted".
   */
  const MALFORMED = `${PVC(60)}@-x`;
  const SPELLED = `${PVC(61)}@default`;
  const GONE = `${PVC(62)}@rds-gone`;
  const SNAP_GONE = 'snap-abc-0123456789ab@rds-gone';
  const rpcs: Array<[string, (id: string) => object, number]> = [
    ['DeleteVolume', (id) => ({ volumeId: id }), status.OK],
    ['ControllerUnpublishVolume', (id) => ({ volumeId: id, nodeId: 'n1' }), status.OK],
    ['ControllerPublishVolume', (id) => ({ volumeId: id, nodeId: 'n1', volumeCapability: MOUNT_RWO }), status.NOT_FOUND],
    ['ControllerGetVolume', (id) => ({ volumeId: id }), status.NOT_FOUND],
    ['ValidateVolumeCapabilities', (id) => ({ volumeId: id, volumeCapabilities: [MOUNT_RWO] }), status.NOT_FOUND],
    ['ControllerExpandVolume', (id) => ({ volumeId: id, capacityRange: { requiredBytes: String(16 * MiB) } }), status.NOT_FOUND],
    ['CreateSnapshot', (id) => ({ name: 'snap-of-odd-id', sourceVolumeId: id }), status.NOT_FOUND],
    [
      'CreateVolume',
      (id) => ({ name: PVC(63), volumeCapabilities: [MOUNT_RWO], volumeContentSource: { volume: { volumeId: id } } }),
      status.NOT_FOUND,
    ],
  ];
  const idCases = rpcs.flatMap(([rpc, build, notThere]) => [
    [rpc, 'a malformed backend mark', MALFORMED, build, notThere, /^(|.*does not exist)$/] as const,
    [rpc, "the primary's name spelled out", SPELLED, build, notThere, /^(|.*does not exist)$/] as const,
    [
      rpc,
      'a backend this configuration lacks',
      GONE,
      build,
      status.FAILED_PRECONDITION,
      /on backend rds-gone, which this driver's configuration does not have/,
    ] as const,
  ]);
  it.each(idCases)('%s with %s (%s)', async (rpc, _what, id, build, code, message) => {
    const res = await codeOf(h.client.ctl(rpc, build(id), 30000));
    expect(res.code ?? status.OK).toBe(code);
    expect(res.details ?? '').toMatch(message);
  });

  it.each([
    ['DeleteSnapshot', { snapshotId: SNAP_GONE }, status.FAILED_PRECONDITION],
    ['DeleteSnapshot', { snapshotId: 'snap-abc-0123456789ab@-x' }, status.OK],
    [
      'CreateVolume',
      { name: PVC(64), volumeCapabilities: [MOUNT_RWO], volumeContentSource: { snapshot: { snapshotId: SNAP_GONE } } },
      status.FAILED_PRECONDITION,
    ],
  ] as const)('%s of a snapshot id %j', async (rpc, req, code) => {
    const res = await codeOf(h.client.ctl(rpc, req, 30000));
    expect(res.code ?? status.OK).toBe(code);
  });

  it("never touches the primary's volume through its slot spelled with the primary's name", async () => {
    const id = (await create(PVC(70), {})).volume.volumeId as string;
    expect(id).toBe(PVC(70));
    await h.client.ctl('DeleteVolume', { volumeId: `${id}@default` }, 30000);
    expect(onSim('default', PVC(70))).toBe(true);
  });
});
