/** The real node-routeros 1.6.9 client against the simulator (legacy empty mode: 1.6.9 crashes on `!empty`). */
import { RouterOSAPI } from 'node-routeros';
import { startHarness, type SimHarness } from './helpers';

describe('node-routeros against the simulator', () => {
  let h: SimHarness;
  let api: RouterOSAPI;
  beforeAll(async () => {
    h = await startHarness({ user: 'admin', password: 'secret', faults: { emptyMode: 'legacy' } });
    api = new RouterOSAPI({ host: '127.0.0.1', port: h.sim.port, user: 'admin', password: 'secret', timeout: 5 });
    api.on('error', () => undefined);
    await api.connect();
  });
  afterAll(async () => {
    await api.close();
    await h.stop();
  });

  it('adds a disk (resolving [{ret}]) and prints it', async () => {
    const added = (await api.write('/disk/add', [
      '=type=file',
      '=slot=nr-1',
      '=file-path=/pool/nr-1.img',
      '=file-size=1G',
      '=nvme-tcp-export=yes',
    ])) as Array<Record<string, string>>;
    expect(added).toEqual([{ ret: expect.stringMatching(/^\*[0-9A-F]+$/) }]);
    const rows = (await api.write('/disk/print', ['=.proplist=.id,slot,file-size,nvme-tcp-export,nvme-tcp-server-nqn', '?slot=nr-1'])) as Array<
      Record<string, string>
    >;
    expect(rows).toEqual([
      { '.id': added[0].ret, slot: 'nr-1', 'file-size': String(1024 ** 3), 'nvme-tcp-export': 'true', 'nvme-tcp-server-nqn': 'nr-1' },
    ]);
  });

  it('gets [] for an empty print in legacy mode and count-only as [{ret}]', async () => {
    expect(await api.write('/disk/print', ['?slot=absent'])).toEqual([]);
    expect(await api.write('/disk/print', ['=count-only=', '?type=file'])).toEqual([{ ret: '1' }]);
  });

  it('rejects with the trap message', async () => {
    await expect(api.write('/disk/set', ['=.id=*FFFF', '=comment=x'])).rejects.toThrow('no such item');
  });

  it('runs many concurrent writes under latency', async () => {
    h.sim.faults.set({ latencyMs: 50, jitterMs: 50 });
    const results = await Promise.all(Array.from({ length: 20 }, () => api.write('/disk/print', ['=.proplist=slot', '?slot=nr-1'])));
    for (const r of results) expect(r).toEqual([{ slot: 'nr-1' }]);
    h.sim.faults.set({ latencyMs: 0, jitterMs: 0 });
  });

  it('rejects login with bad credentials as CANTLOGIN', async () => {
    const bad = new RouterOSAPI({ host: '127.0.0.1', port: h.sim.port, user: 'admin', password: 'nope', timeout: 5 });
    bad.on('error', () => undefined);
    await expect(bad.connect()).rejects.toMatchObject({ errno: 'CANTLOGIN' });
  });
});
