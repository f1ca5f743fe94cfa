import { Redis } from 'ioredis';
import type { ControllerDeps } from '../../src/api/controller-deps';
import { volumeHandlers } from '../../src/api/volume-rpcs';
import { VolumeHealth } from '../../src/api/volume-health';
import type { BackendConfig } from '../../src/config/backends';
import type { CallContext } from '../../src/grpc/service';
import { RdsBackends } from '../../src/rds/backends';
import type { RdsPort } from '../../src/rds/port';
import type { AttachmentRecord, AttachmentStore } from '../../src/state/attachment-record';
import { driverState } from '../../src/state/stores';
import type { VolumeRecord } from '../../src/state/volume-record';
import { startRedis, type TestRedis } from '../support/redis';

/**
 * Issue 14 item 5, "bound every list the driver holds in memory": one ListVolumes page reads the attachment records
 * of its own volumes, not every attachment in Redis (which made paging N attached volumes read N² records).
 * Real Redis stores; the attachment store is wrapped only to count the records it hands out.
 */
describe('ListVolumes reads only the attachments of its page', () => {
  let server: TestRedis;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  const vol = (id: string): VolumeRecord => ({
    id,
    name: id,
    capacityBytes: 1024,
    accessType: 'mount',
    paramsKey: '',
    context: {},
    state: 'ready',
    gen: 'g1',
    slot: id,
    filePath: `/pool/rds-csi/${id}.img`,
    nqn: `nqn.test:${id}`,
    createdAt: '2026-01-01T00:00:00.000Z',
  });

  it.each([
    { volumes: 12, pageSize: 5 },
    { volumes: 7, pageSize: 1 },
  ])('$volumes attached volumes, pages of $pageSize', async ({ volumes, pageSize }) => {
    const state = driverState(redis, `lv${volumes}-${pageSize}`);
    const ids = Array.from({ length: volumes }, (_, i) => `pvc-${String(i).padStart(8, '0')}-0000-0000-0000-000000000000`);
    for (const id of ids) {
      await state.volumes.claim(vol(id));
      await state.attachments.put({ volumeId: id, nodes: { [`node-${id.slice(4, 12)}`]: { readonly: false, attachedAt: 'x', publishContext: {} } } });
    }
    const handedOut: number[] = [];
    const counting: AttachmentStore = {
      get: (id) => state.attachments.get(id),
      put: (rec) => state.attachments.put(rec),
      count: () => state.attachments.count(),
      getMany: async (want) => {
        const got = await state.attachments.getMany(want);
        handedOut.push(got.length);
        return got;
      },
      all: async () => {
        const got: AttachmentRecord[] = await state.attachments.all();
        handedOut.push(got.length);
        return got;
      },
    };
    const deps = {
      store: state.volumes,
      attachments: counting,
      // RDS is not what this test is about: a pool and disk list that show nothing (every volume "missing").
      backends: new RdsBackends([
        {
          name: 'default',
          primary: true,
          config: { name: 'default', primary: true } as BackendConfig,
          rds: { listDisks: () => Promise.resolve([]) } as unknown as RdsPort,
          target: { address: '127.0.0.1', port: 4420 },
        },
      ]),
      poolOf: () => Promise.resolve({ sizeBytes: 1, freeBytes: 1 }),
      driverName: 'rds.csi.mikrotik.com',
      volumePrefix: '',
      health: new VolumeHealth(() => Promise.resolve({ sizeBytes: 1, freeBytes: 1 }), { poolFullPercent: 95 }),
    } as unknown as ControllerDeps;
    const list = volumeHandlers(deps).ListVolumes!;
    const seen = new Map<string, string[]>();
    let token = '';
    do {
      const res = await list({ maxEntries: pageSize, startingToken: token }, {} as CallContext);
      for (const e of res.entries ?? []) seen.set(e.volume!.volumeId!, e.status!.publishedNodeIds!);
      token = res.nextToken ?? '';
    } while (token);
    // Every volume with its node, and no page read more attachment records than it holds volumes.
    expect([...seen.keys()].sort()).toEqual(ids);
    for (const id of ids) expect(seen.get(id)).toEqual([`node-${id.slice(4, 12)}`]);
    expect(handedOut.length).toBe(Math.ceil(volumes / pageSize));
    expect(Math.max(...handedOut)).toBeLessThanOrEqual(pageSize);
  });
});
