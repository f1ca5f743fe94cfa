import fc from 'fast-check';
import { describeRoot } from '../node/support';
import { mountsAt, NODE_ID, startFuzzEnv, type FuzzEnv } from './env';

/**
 * Model check of valid sequences: random create / controller publish / stage / node publish and their undo on two
 * volumes, in the orders a CO may send them (the spec's lifecycle, "Volume Lifecycle" figures 5–6), each request
 * sometimes sent twice (a sidecar's retry). After every step the driver's answers and the real state — the disk on
 * the simulator, the attachment record in Redis, the mount table — agree with a reference model. FUZZ_SEED /
 * FUZZ_MODEL_RUNS / FUZZ_MODEL_TIME_MS reproduce or lengthen it.
 */

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const numRuns = Number(process.env.FUZZ_MODEL_RUNS ?? 40);
const timeMs = Number(process.env.FUZZ_MODEL_TIME_MS ?? 25000);
const MiB = 1024 * 1024;
const CAP = { mount: { fsType: 'ext4' }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };

type V = 'a' | 'b';
interface Vol {
  exists: boolean;
  attached: boolean;
  staged: boolean;
  published: Set<string>;
}
type Model = Record<V, Vol>;
interface Real {
  run: number;
  ctx: Partial<Record<V, Record<string, string>>>;
}

let env: FuzzEnv;
let runNo = 0;
const ran: Record<string, number> = {};
const idOf = (r: Real, v: V): string => `pvc-0d000000-0000-4000-8000-${String(r.run).padStart(10, '0')}0${v === 'a' ? 'a' : 'b'}`;
const dirOf = (r: Real, v: V): string => `${env.kubelet}/model/${idOf(r, v)}`;

/** Send a request the way a sidecar does: again on ABORTED (operation in progress), until a final answer. */
async function send(kind: 'ctl' | 'node', rpc: string, req: object): Promise<Record<string, unknown>> {
  for (let i = 0; ; i++) {
    try {
      return kind === 'ctl' ? await env.ctl.ctl(rpc, req, 15000) : await env.node.nodeCall(rpc, req, 60000);
    } catch (err) {
      if ((err as { code?: number }).code !== 10 || i > 20)
        throw new Error(`${rpc} ${JSON.stringify(req)}: ${(err as Error).message}`, { cause: err });
    }
  }
}

type Op = 'create' | 'delete' | 'publish' | 'unpublish' | 'stage' | 'unstage' | 'nodePublish' | 'nodeUnpublish';

class Step implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly op: Op,
    readonly v: V,
    readonly target: 'p1' | 'p2',
    readonly times: number,
  ) {}

  check(m: Readonly<Model>): boolean {
    const s = m[this.v];
    switch (this.op) {
      case 'create':
        return true;
      case 'delete':
        return !s.attached && !s.staged;
      case 'publish':
        return s.exists;
      case 'unpublish':
        return s.exists && !s.staged;
      case 'stage':
        return s.attached;
      case 'unstage':
        return s.exists && s.published.size === 0;
      case 'nodePublish':
        return s.staged;
      case 'nodeUnpublish':
        return s.exists;
    }
  }

  async run(m: Model, r: Real): Promise<void> {
    const s = m[this.v];
    const id = idOf(r, this.v);
    const stage = `${dirOf(r, this.v)}/stage`;
    const target = `${dirOf(r, this.v)}/${this.target}`;
    const ctx = { volumeId: id, volumeCapability: CAP, volumeContext: r.ctx[this.v] ?? {} };
    ran[this.op] = (ran[this.op] ?? 0) + 1;
    for (let i = 0; i < this.times; i++) {
      switch (this.op) {
        case 'create': {
          const res = await send('ctl', 'CreateVolume', { name: id, capacityRange: { requiredBytes: String(16 * MiB) }, volumeCapabilities: [CAP] });
          const vol = res.volume as { volumeId: string; volumeContext: Record<string, string> };
          expect(vol.volumeId).toBe(id);
          r.ctx[this.v] = vol.volumeContext;
          s.exists = true;
          break;
        }
        case 'delete':
          await send('ctl', 'DeleteVolume', { volumeId: id });
          s.exists = false;
          break;
        case 'publish':
          await send('ctl', 'ControllerPublishVolume', { ...ctx, nodeId: NODE_ID });
          s.attached = true;
          break;
        case 'unpublish':
          await send('ctl', 'ControllerUnpublishVolume', { volumeId: id, nodeId: NODE_ID });
          s.attached = false;
          break;
        case 'stage':
          await send('node', 'NodeStageVolume', { ...ctx, stagingTargetPath: stage });
          s.staged = true;
          break;
        case 'unstage':
          await send('node', 'NodeUnstageVolume', { volumeId: id, stagingTargetPath: stage });
          s.staged = false;
          break;
        case 'nodePublish':
          await send('node', 'NodePublishVolume', { ...ctx, stagingTargetPath: stage, targetPath: target });
          s.published.add(this.target);
          break;
        case 'nodeUnpublish':
          await send('node', 'NodeUnpublishVolume', { volumeId: id, targetPath: target });
          s.published.delete(this.target);
          break;
      }
    }
    await agree(m, r);
  }

  toString(): string {
    return `${this.op}(${this.v}${this.op.startsWith('node') ? `,${this.target}` : ''})${this.times > 1 ? 'x2' : ''}`;
  }
}

/** The real state, read directly (simulator, Redis, mount table), equals the model's. */
async function agree(m: Model, r: Real): Promise<void> {
  for (const v of ['a', 'b'] as const) {
    const id = idOf(r, v);
    const s = m[v];
    const disk = env.sim.disks().find((d) => d.slot === id);
    const att = await env.peek.hget(`${env.cfg.queuePrefix}:state:attachments`, id);
    const nodes = att ? Object.keys((JSON.parse(att) as { nodes: Record<string, unknown> }).nodes) : [];
    const dir = dirOf(r, v);
    const mounts = mountsAt([`${dir}/stage`, `${dir}/p1`, `${dir}/p2`]);
    const mounted = (p: string): boolean => mounts[`${dir}/${p}`] !== '[]';
    expect({ v, disk: disk ? disk.fileSize : null, nodes, stage: mounted('stage'), p1: mounted('p1'), p2: mounted('p2') }).toEqual({
      v,
      disk: s.exists ? 16 * MiB : null,
      nodes: s.attached ? [NODE_ID] : [],
      stage: s.staged,
      p1: s.published.has('p1'),
      p2: s.published.has('p2'),
    });
  }
}

async function teardown(r: Real): Promise<void> {
  for (const v of ['a', 'b'] as const) {
    const id = idOf(r, v);
    for (const p of ['p1', 'p2'])
      await send('node', 'NodeUnpublishVolume', { volumeId: id, targetPath: `${dirOf(r, v)}/${p}` }).catch(() => undefined);
    await send('node', 'NodeUnstageVolume', { volumeId: id, stagingTargetPath: `${dirOf(r, v)}/stage` }).catch(() => undefined);
    await send('ctl', 'ControllerUnpublishVolume', { volumeId: id, nodeId: NODE_ID }).catch(() => undefined);
    await send('ctl', 'DeleteVolume', { volumeId: id }).catch(() => undefined);
  }
}

const OPS: Op[] = ['create', 'delete', 'publish', 'unpublish', 'stage', 'unstage', 'nodePublish', 'nodeUnpublish'];
const stepArb = fc
  .record({
    op: fc.oneof(fc.constantFrom(...OPS), fc.constantFrom<Op>('create', 'publish', 'stage', 'nodePublish')),
    v: fc.constantFrom<V>('a', 'b'),
    target: fc.constantFrom<'p1' | 'p2'>('p1', 'p2'),
    times: fc.integer({ min: 1, max: 2 }),
  })
  .map((x) => new Step(x.op, x.v, x.target, x.times));

describeRoot('CSI lifecycle model check (fast-check)', () => {
  beforeAll(async () => {
    env = await startFuzzEnv();
  }, 120000);
  afterAll(async () => {
    await env?.stop();
  }, 120000);

  it(
    `driver answers and real state follow the CSI lifecycle model (FUZZ_SEED=${seed})`,
    async () => {
      process.stdout.write(`csi model: FUZZ_SEED=${seed} FUZZ_MODEL_RUNS=${numRuns} FUZZ_MODEL_TIME_MS=${timeMs}\n`);
      let sequences = 0;
      await fc.assert(
        fc.asyncProperty(fc.commands([stepArb], { maxCommands: 25, size: 'max' }), async (cmds) => {
          sequences++;
          const fresh = (): Vol => ({ exists: false, attached: false, staged: false, published: new Set() });
          const real: Real = { run: ++runNo, ctx: {} };
          try {
            await fc.asyncModelRun(() => ({ model: { a: fresh(), b: fresh() }, real }), cmds);
          } finally {
            await teardown(real);
          }
        }),
        { seed, numRuns, interruptAfterTimeLimit: timeMs, markInterruptAsFailure: false },
      );
      process.stdout.write(`csi model: ${sequences} sequences run (seed ${seed}), steps ${JSON.stringify(ran)}\n`);
      expect(await env.violations()).toEqual([]);
    },
    timeMs + 180000,
  );
});
