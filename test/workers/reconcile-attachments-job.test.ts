import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import type { AttachmentFact } from '../../src/cluster/ports';
import { createLogger } from '../../src/log/logger';
import type { AttachmentRecord } from '../../src/state/attachment-record';
import { driverState } from '../../src/state/stores';
import type { ProcessorContext } from '../../src/workers/context';
import { reconcileAttachments } from '../../src/workers/processors/reconcile-attachments';
import { startRedis, type TestRedis } from '../support/redis';

/**
 * The reconcile.attachments job in process (reconcilers group, issue 19 item 2, round 7e), its attachment records in
 * a private redis-server. The Kubernetes side (Node list, VolumeAttachments) is the two ports it reads, given as data;
 * what the job decides is observed in Redis, in the fence.detach calls it makes, its metrics and its log lines.
 */
const at = (readonly = false) => ({ readonly, attachedAt: new Date(0).toISOString(), publishContext: {} });
const va = (volumeId: string, nodeId: string, attached = true, readonly = false): AttachmentFact => ({ volumeId, nodeId, attached, readonly });

describe('reconcile.attachments job', () => {
  let redis: TestRedis;
  let conn: Redis;
  let n = 0;

  beforeAll(async () => {
    redis = await startRedis();
    conn = new Redis(redis.url);
  });
  afterAll(async () => {
    conn?.disconnect();
    await redis?.stop();
  });

  async function run(opts: { records: AttachmentRecord[]; vas: AttachmentFact[]; nodes: string[] | undefined }) {
    const attachments = driverState(conn, `ra${++n}:`).attachments;
    for (const rec of opts.records) await attachments.put(rec);
    const metrics: Array<[string, number]> = [];
    const detached: string[] = [];
    const lines: Array<Record<string, unknown>> = [];
    let vaLists = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const fencing = {
      attachments,
      nodes: { list: () => Promise.resolve(opts.nodes), exists: (id: string) => Promise.resolve(opts.nodes?.includes(id) ?? false) },
      vaSource: { list: () => Promise.resolve(void vaLists++).then(() => opts.vas) },
      enqueueDetach: (volumeId: string, nodeId: string, slot: string) => Promise.resolve(void detached.push(`${volumeId} ${nodeId} ${slot}`)),
      metrics: {
        conflict: () => undefined,
        migrationEnded: () => undefined,
        reconcile: (what: string, count: number) => void metrics.push([what, count]),
      },
    };
    const ctx = { log: createLogger('debug', 'attachments-job-test', sink), fencing } as unknown as ProcessorContext<'reconcile.attachments'>;
    const result = await reconcileAttachments({ volumeId: '' }, ctx);
    const stored = (await attachments.all()).sort((a, b) => a.volumeId.localeCompare(b.volumeId));
    const logged = lines
      .filter((l) => (l.level as number) >= 30)
      .map(({ level, msg, rebuilt, volumeId, node }) => ({ level, msg, rebuilt, volumeId, node }));
    return { result, stored, metrics, detached: detached.sort(), logged, vaLists };
  }

  it('with no record in Redis, rebuilds one record per volume from the attached VolumeAttachments only, and warns once', async () => {
    const pvc = { name: 'data', namespace: 'ns' };
    const r = await run({
      records: [],
      vas: [{ ...va('vol-a', 'n1'), pvc }, va('vol-a', 'n2', true, true), va('vol-b', 'n1', false), va('vol-c', 'n3')],
      nodes: ['n1', 'n2', 'n3'],
    });
    expect(r.result).toEqual({ rebuilt: 2, cleared: 0 });
    expect(
      r.stored.map((s) => ({
        ...s,
        nodes: Object.fromEntries(Object.entries(s.nodes).map(([k, v]) => [k, { ...v, attachedAt: typeof v.attachedAt }])),
      })),
    ).toEqual([
      {
        volumeId: 'vol-a',
        pvc,
        nodes: {
          n1: { readonly: false, attachedAt: 'string', publishContext: {} },
          n2: { readonly: true, attachedAt: 'string', publishContext: {} },
        },
      },
      { volumeId: 'vol-c', nodes: { n3: { readonly: false, attachedAt: 'string', publishContext: {} } } },
    ]);
    expect(r.metrics).toEqual([
      ['rebuilt', 2],
      ['node-deleted', 0],
      ['node-deleted-va-remains', 0],
    ]);
    expect(r.logged).toEqual([
      { level: 40, msg: 'attachment records rebuilt from VolumeAttachments', rebuilt: 2, volumeId: undefined, node: undefined },
    ]);
    expect(r.vaLists).toBe(1);
    expect(r.detached).toEqual([]);
  });

  it('with no record in Redis and no attached VolumeAttachment, rebuilds nothing and warns nothing', async () => {
    const r = await run({ records: [], vas: [va('vol-d', 'n1', false)], nodes: ['n1'] });
    expect(r.result).toEqual({ rebuilt: 0, cleared: 0 });
    expect(r.stored).toEqual([]);
    expect(r.logged).toEqual([]);
  });

  it('with records in Redis, rebuilds nothing and does not list VolumeAttachments while no node is gone', async () => {
    const r = await run({ records: [{ volumeId: 'vol-x', nodes: { n1: at() } }], vas: [va('vol-y', 'n1')], nodes: ['n1'] });
    expect(r.result).toEqual({ rebuilt: 0, cleared: 0 });
    expect(r.stored.map((s) => s.volumeId)).toEqual(['vol-x']);
    expect(r.vaLists).toBe(0);
    expect(r.logged).toEqual([]);
  });

  it("clears a gone node's attachments by fence.detach (the id's own slot), keeps one a VolumeAttachment of that node and volume still holds, and logs it", async () => {
    const r = await run({
      records: [
        { volumeId: 'vol-g', nodes: { 'n-gone': at(), 'n-live': at() } },
        { volumeId: 'pvc-h@b', nodes: { 'n-gone': at() } },
        { volumeId: 'vol-k', nodes: { 'n-gone': at() } },
      ],
      // vol-k is held by its VA even detached; a VA of the gone node for another volume, or of the volume on a live
      // node, holds nothing.
      vas: [va('vol-k', 'n-gone', false), va('vol-z', 'n-gone'), va('vol-g', 'n-live')],
      nodes: ['n-live'],
    });
    expect(r.result).toEqual({ rebuilt: 0, cleared: 2 });
    expect(r.detached).toEqual(['pvc-h@b n-gone pvc-h', 'vol-g n-gone vol-g']);
    expect(r.metrics).toEqual([
      ['rebuilt', 0],
      ['node-deleted', 2],
      ['node-deleted-va-remains', 1],
    ]);
    expect(r.logged).toEqual([
      {
        level: 30,
        msg: 'node is gone but its VolumeAttachment remains: attachment kept until it is detached',
        rebuilt: undefined,
        volumeId: 'vol-k',
        node: 'n-gone',
      },
    ]);
    expect(r.vaLists).toBe(1);
  });

  it('clears nothing when the node registry cannot list (never on a guess)', async () => {
    const r = await run({ records: [{ volumeId: 'vol-g', nodes: { 'n-gone': at() } }], vas: [], nodes: undefined });
    expect(r.result).toEqual({ rebuilt: 0, cleared: 0 });
    expect(r.detached).toEqual([]);
    expect(r.metrics).toContainEqual(['node-deleted', 0]);
  });
});
