import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../../src/config/schema';
import { removeDirSafely } from '../../src/host/safe-remove';
import { extraSimulatorNames, nodeBackendsOf, simulatorDataDir } from '../../src/runtime/all-in-one-backends';
import { spawnCli } from '../support/processes';

/**
 * `rds-csi all-in-one --simulators N` (issue 16 item 5): N embedded simulators, the first the primary RDS and each
 * further one an extra backend (rds-b, rds-c, …) in the driver's `backends`, every one named to the node plugin in
 * node.backends.
 */
describe('all-in-one with several simulators: names, data dirs, node.backends', () => {
  const base = configSchema.parse({});

  it.each([
    { n: 1, names: [] },
    { n: 2, names: ['rds-b'] },
    { n: 4, names: ['rds-b', 'rds-c', 'rds-d'] },
  ])('--simulators $n names the extra backends $names', ({ n, names }) => {
    expect(extraSimulatorNames(base, n, false)).toEqual(names);
  });

  it.each([
    { what: '0 simulators', cfg: base, n: 0, external: false, error: /from 1 to 8, got 0/ },
    { what: '9 simulators', cfg: base, n: 9, external: false, error: /from 1 to 8, got 9/ },
    { what: 'a fraction', cfg: base, n: 1.5, external: false, error: /integer/ },
    { what: 'not a number', cfg: base, n: Number('two'), external: false, error: /got NaN/ },
    { what: 'an external RDS', cfg: base, n: 2, external: true, error: /cannot be combined with --rds-address/ },
    {
      what: 'the primary named rds-b',
      cfg: configSchema.parse({ rds: { backend: 'rds-b' } }),
      n: 2,
      external: false,
      error: /"rds-b" is already a backend/,
    },
    {
      what: 'a configured backend named rds-c',
      cfg: configSchema.parse({ backends: [{ name: 'rds-c', host: 'x' }] }),
      n: 3,
      external: false,
      error: /"rds-c" is already a backend/,
    },
  ])('refuses $what with a ConfigError', ({ cfg, n, external, error }) => {
    expect(() => extraSimulatorNames(cfg, n, external)).toThrow(error);
    try {
      extraSimulatorNames(cfg, n, external);
    } catch (err) {
      expect((err as Error).constructor.name).toBe('ConfigError');
    }
  });

  it('puts an extra simulator beside the primary data dir', () => {
    expect(simulatorDataDir('/tmp/demo/rds', 'rds-b')).toBe('/tmp/demo/rds-rds-b');
    expect(simulatorDataDir('/tmp/demo/rds/', 'rds-c')).toBe('/tmp/demo/rds-rds-c');
  });

  it('node.backends names every backend at its NVMe/TCP address, with no reachability check; nothing for one simulator', () => {
    const cfg = configSchema.parse({
      rds: { host: '127.0.0.1', port: 40001 },
      backends: [{ name: 'rds-b', host: '127.0.0.1', port: 40002, exportAddress: '10.0.0.2', exportPort: 4421 }],
    });
    expect(nodeBackendsOf(cfg, true)).toEqual({ backends: 'default=127.0.0.1:4420,rds-b=10.0.0.2:4421', backendReachMs: 0 });
    expect(nodeBackendsOf(cfg, false)).toEqual({});
  });
});

describe('rds-csi all-in-one --simulators 2', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-aio-backends-'));
  });
  afterAll(() => removeDirSafely(dir));

  it('starts two simulators with their own ports and data dirs and announces them before READY', async () => {
    const data = path.join(dir, 'rds');
    const aio = await spawnCli(
      [
        'all-in-one',
        '--controller-endpoint',
        `unix://${path.join(dir, 'c.sock')}`,
        '--node-endpoint',
        `unix://${path.join(dir, 'n.sock')}`,
        '--data-dir',
        data,
        '--kubelet-dir',
        dir,
        '--simulators',
        '2',
        '--log-level',
        'warn',
      ],
      {},
      /^READY$/m,
    );
    const exited = new Promise<number | null>((r) => aio.child.once('exit', (code) => r(code)));
    try {
      const sims = [...aio.output().matchAll(/^SIMULATOR (\S+) (\S+) (\S+)$/gm)].map((m) => ({ name: m[1], address: m[2], dataDir: m[3] }));
      expect(sims.map((s) => [s.name, s.dataDir])).toEqual([
        ['default', data],
        ['rds-b', `${data}-rds-b`],
      ]);
      expect(new Set(sims.map((s) => s.address)).size).toBe(2);
      for (const s of sims) expect(existsSync(s.dataDir)).toBe(true);
    } finally {
      aio.child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('without --data-dir each simulator gets a temp dir of its own, and every one goes on SIGTERM', async () => {
    const tmp = mkdtempSync(path.join(dir, 'tmp-'));
    const aio = await spawnCli(
      [
        'all-in-one',
        '--controller-endpoint',
        `unix://${path.join(tmp, 'c.sock')}`,
        '--node-endpoint',
        `unix://${path.join(tmp, 'n.sock')}`,
        '--simulators',
        '2',
        '--log-level',
        'warn',
      ],
      { TMPDIR: tmp },
      /^READY$/m,
    );
    expect(readdirSync(tmp).filter((e) => e.startsWith('rds-csi-sim-'))).toHaveLength(2);
    const exited = new Promise<number | null>((r) => aio.child.once('exit', (code) => r(code)));
    aio.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('refuses --simulators with --rds-address (exit 2, a clear message)', async () => {
    await expect(
      spawnCli(
        [
          'all-in-one',
          '--controller-endpoint',
          `unix://${path.join(dir, 'c2.sock')}`,
          '--node-endpoint',
          `unix://${path.join(dir, 'n2.sock')}`,
          '--rds-address',
          '127.0.0.1:1',
          '--rds-insecure-plaintext',
          '--simulators',
          '2',
        ],
        {},
        /^READY$/m,
      ),
    ).rejects.toThrow(/cannot be combined with --rds-address/);
  });
});
