/** RouterOsClient against a scripted fake of node-routeros' RouterOSAPI (the real library is covered in the integration tests). */
import { EventEmitter } from 'events';
import type { IRosOptions } from 'node-routeros';
import { RosTransportError } from '../../src/rds/errors';
import { RouterOsClient, type CallOutcome, type RouterOsClientOptions } from '../../src/rds/routeros-client';
import type { RouterOsApiLike } from '../../src/rds/connection';

type Reply = Record<string, string>[];

class FakeApi extends EventEmitter implements RouterOsApiLike {
  pending: Array<{ command: string; resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  constructor(
    readonly opts: IRosOptions,
    private readonly connectResult: () => Promise<unknown>,
  ) {
    super();
  }
  connect(): Promise<unknown> {
    return this.connectResult();
  }
  write(command: string): Promise<Reply> {
    return new Promise((resolve, reject) => this.pending.push({ command, resolve, reject }));
  }
}

function setup(extra: Partial<RouterOsClientOptions> = {}, connectResult: () => Promise<unknown> = () => Promise.resolve()) {
  const apis: FakeApi[] = [];
  const calls: Array<[string, CallOutcome]> = [];
  const states: boolean[] = [];
  const client = new RouterOsClient({
    host: 'rds',
    port: 8728,
    user: 'admin',
    password: 'secret',
    connectTimeoutMs: 200,
    callTimeoutMs: 200,
    backoffBaseMs: 50,
    backoffMaxMs: 200,
    onCall: (c, o) => calls.push([c, o]),
    onState: (s) => states.push(s),
    createApi: (opts) => {
      const api = new FakeApi(opts, connectResult);
      apis.push(api);
      return api;
    },
    ...extra,
  });
  return { client, apis, calls, states };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('RouterOsClient', () => {
  it('connects lazily once for concurrent callers and passes options through', async () => {
    const { client, apis, states } = setup({ tls: { ca: 'PEM' } });
    expect(apis).toHaveLength(0);
    const a = client.write('/disk/print', []);
    const b = client.write('/file/print', []);
    await tick();
    expect(apis).toHaveLength(1);
    expect(apis[0]?.opts).toMatchObject({ host: 'rds', port: 8728, user: 'admin', password: 'secret', keepalive: false });
    expect(apis[0]?.opts.tls).toMatchObject({ ca: 'PEM', rejectUnauthorized: true });
    apis[0]?.pending.forEach((p) => p.resolve([{ n: p.command }]));
    await expect(a).resolves.toEqual([{ n: '/disk/print' }]);
    await expect(b).resolves.toEqual([{ n: '/file/print' }]);
    expect(states).toEqual([true]);
    await client.close();
  });

  it('times a call out, drops the connection and reconnects on the next call', async () => {
    const { client, apis, calls, states } = setup();
    const slow = client.write('/disk/print', []);
    const other = client.write('/file/print', []);
    const started = Date.now();
    await expect(slow).rejects.toMatchObject({ reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(other).rejects.toBeInstanceOf(RosTransportError); // same deaf connection: failed too
    const next = client.write('/disk/print', []);
    await tick();
    expect(apis).toHaveLength(2);
    apis[1]?.pending[0]?.resolve([]);
    await expect(next).resolves.toEqual([]);
    expect(states).toEqual([true, false, true]);
    expect(calls.map((c) => c[1])).toEqual(['timeout', 'error', 'ok']);
    await client.close();
  });

  it("fails every pending call on 'close' (!fatal) and survives 'error' events", async () => {
    const { client, apis } = setup({ callTimeoutMs: 10_000 });
    const p1 = client.write('/disk/print', []);
    const p2 = client.write('/disk/print', []);
    await tick();
    apis[0]?.emit('close');
    await expect(p1).rejects.toMatchObject({ reason: 'closed' });
    await expect(p2).rejects.toMatchObject({ reason: 'closed' });
    const p3 = client.write('/disk/print', []);
    await tick();
    apis[1]?.emit('error', new Error('Timed out after 10 seconds')); // would crash without a listener
    await expect(p3).rejects.toMatchObject({ reason: 'socket' });
    expect(client.connected).toBe(false);
    await client.close();
  });

  it('reports a trap as a trap without dropping the connection', async () => {
    const { client, apis, calls } = setup();
    const p = client.write('/disk/add', []);
    await tick();
    apis[0]?.pending[0]?.reject(new Error('not enough space'));
    await expect(p).rejects.toThrow('not enough space');
    expect(client.connected).toBe(true);
    expect(calls).toEqual([['/disk/add', 'trap']]);
    await client.close();
  });

  it('backs off between failed connects and times a hanging connect out', async () => {
    let mode: 'refuse' | 'hang' = 'refuse';
    const { client, apis } = setup({}, () => (mode === 'refuse' ? Promise.reject(new Error('refused')) : new Promise(() => undefined)));
    await expect(client.write('/x', [])).rejects.toThrow('refused');
    const t0 = Date.now();
    await expect(client.write('/x', [])).rejects.toThrow('refused');
    await expect(client.write('/x', [])).rejects.toThrow('refused');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25 + 50 - 10); // jittered 50 then 100 ms windows, at least half each
    mode = 'hang';
    await expect(client.write('/x', [])).rejects.toMatchObject({ reason: 'connect-timeout' });
    expect(apis.length).toBe(4);
    await client.close();
  });

  it('close() fails pending calls and refuses later ones', async () => {
    const { client } = setup({ callTimeoutMs: 10_000 });
    const p = client.write('/disk/print', []);
    await tick();
    await client.close();
    await expect(p).rejects.toMatchObject({ reason: 'client-closed' });
    await expect(client.write('/disk/print', [])).rejects.toMatchObject({ reason: 'client-closed' });
  });
});
