import * as grpc from '@grpc/grpc-js';
import { loadCsi } from '../../src/grpc/proto';
import { parseEndpoint } from '../../src/grpc/server';
import type { Plan } from './arbitraries';
import { allowedAnswer, notSent } from './codes';
import type { FuzzEnv } from './env';

/**
 * Runs one planned request against the fuzz env and checks every property: an allowed answer within its
 * deadline, live processes, intact sentinels, no secret seen. Returns the failures (empty = all held).
 */

type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export interface Answer {
  code: number;
  details: string;
  res?: Record<string, unknown>;
}

export class Runner {
  readonly volumes: string[] = [];
  readonly contexts = new Map<string, Record<string, string>>();
  readonly snapshots: string[] = [];
  private readonly clients: Record<string, grpc.Client>;
  private leaksSeen = 0;

  constructor(private readonly env: FuzzEnv) {
    const csi = loadCsi().csi.v1 as unknown as Record<string, new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client>;
    const creds = grpc.credentials.createInsecure();
    const ctl = parseEndpoint(env.ctlEndpoint).address;
    const node = parseEndpoint(env.nodeEndpoint).address;
    const make = (svc: string, addr: string): grpc.Client => new csi[svc](addr, creds);
    this.clients = {
      'Identity@ctl': make('Identity', ctl),
      'Identity@node': make('Identity', node),
      Controller: make('Controller', ctl),
      GroupController: make('GroupController', ctl),
      Node: make('Node', node),
    };
  }

  close(): void {
    for (const c of Object.values(this.clients)) c.close();
  }

  /** The request with its templates filled in from the pools and the env's paths. */
  resolve(plan: Plan): Record<string, unknown> {
    const v = this.volumes.length ? this.volumes[plan.pick % this.volumes.length] : 'pvc-f0220000-0000-4000-8000-0000000000ff';
    const all = [this.env.sentinel.volumeId, ...this.volumes];
    const vs = all[plan.pick % all.length];
    const snap = this.snapshots.length ? this.snapshots[plan.pick % this.snapshots.length] : 'snap-missing';
    const nqnOf = (id: string | undefined): string => `${this.env.cfg.nqnPrefix}:${id ?? ''}`;
    const s = this.env.sentinel;
    const fill = (x: unknown): unknown => {
      if (x === '{CTX}') return this.contexts.get(v ?? '') ?? {};
      if (typeof x === 'string') {
        if (x.length > 100000) return x;
        return x
          .replaceAll('{KV}', `${this.env.kubelet}/fuzz/v-${v ?? ''}`)
          .replaceAll('{K}', this.env.kubelet)
          .replaceAll('{S:stage}', s.stagePath)
          .replaceAll('{S:publish}', s.publishPath)
          .replaceAll('{S:tmpfs}', s.tmpfsPath)
          .replaceAll('{VS}', vs ?? '')
          .replaceAll('{V}', v ?? '')
          .replaceAll('{NQN}', nqnOf(x === '{NQN}' && plan.req.volumeId === '{VS}' ? vs : v))
          .replaceAll('{SNAP}', snap ?? '');
      }
      if (Array.isArray(x)) return x.map(fill);
      if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, val]) => [fill(k) as string, fill(val)]));
      return x;
    };
    return fill(plan.req) as Record<string, unknown>;
  }

  call(plan: Plan, req: Record<string, unknown>, timeoutMs: number): Promise<Answer> {
    const key = plan.service === 'Identity' ? (plan.pick % 2 ? 'Identity@node' : 'Identity@ctl') : plan.service;
    const client = this.clients[key];
    const fn = (client as unknown as Record<string, Unary>)[plan.rpc];
    if (!client || !fn) return Promise.resolve({ code: -1, details: `no method ${key}.${plan.rpc}` });
    return new Promise((resolve) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
        resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '', res: res as Record<string, unknown> }),
      );
    });
  }

  /** Remember what the fuzzer created, so later requests name it. */
  private learn(plan: Plan, ans: Answer): void {
    if (ans.code !== 0 || !ans.res) return;
    const id = (ans.res.volume as { volumeId?: string } | undefined)?.volumeId;
    if (plan.rpc === 'CreateVolume' && id && !this.volumes.includes(id)) this.volumes.push(id);
    if (plan.rpc === 'CreateVolume' && id) this.contexts.set(id, (ans.res.volume as { volumeContext: Record<string, string> }).volumeContext);
    const snap = (ans.res.snapshot as { snapshotId?: string } | undefined)?.snapshotId;
    if (plan.rpc === 'CreateSnapshot' && snap && !this.snapshots.includes(snap)) this.snapshots.push(snap);
  }

  async check(plan: Plan): Promise<string[]> {
    const req = this.resolve(plan);
    const timeoutMs = plan.service === 'Node' ? 60000 : 15000;
    const ans = await this.call(plan, req, timeoutMs);
    this.learn(plan, ans);
    const failures: string[] = [];
    if (ans.code === -1) failures.push(ans.details);
    else if (ans.code === (grpc.status.DEADLINE_EXCEEDED as number)) failures.push(`${plan.rpc}: no answer within ${timeoutMs} ms`);
    else if (!(ans.code === (grpc.status.INTERNAL as number) && notSent(ans.details)) && !allowedAnswer(plan.rpc, ans.code, ans.details)) {
      failures.push(`${plan.rpc} answered ${grpc.status[ans.code]} (${ans.code}): ${ans.details.slice(0, 700)}`);
    }
    failures.push(...(await this.env.violations()));
    if (this.env.leaks.length > this.leaksSeen) {
      failures.push(...this.env.leaks.slice(this.leaksSeen));
      this.leaksSeen = this.env.leaks.length;
    }
    return failures;
  }
}
