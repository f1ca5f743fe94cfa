import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CsiClient } from '../support/csi-client';
import { CLI, spawnCli } from '../support/processes';

/** The `rds-csi` binary as operators and scripts use it: subcommands, READY, clean SIGTERM, exit codes. */
describe('rds-csi CLI', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('all-in-one prints READY when both sockets answer and stops cleanly on SIGTERM', async () => {
    const c = path.join(dir, 'c.sock');
    const n = path.join(dir, 'n.sock');
    const aio = await spawnCli(
      ['all-in-one', '--controller-endpoint', `unix://${c}`, '--node-endpoint', `unix://${n}`, '--log-level', 'warn'],
      {},
      /^READY$/m,
    );
    const ctl = new CsiClient(`unix://${c}`);
    const node = new CsiClient(`unix://${n}`);
    try {
      expect((await ctl.id('Probe')).ready.value).toBe(true);
      // The same plugin capabilities on both sockets (CSI Identity: regardless of which RPCs an instance serves).
      const ctlCaps = (await ctl.id('GetPluginCapabilities')).capabilities;
      expect(ctlCaps).toHaveLength(3);
      expect((await node.id('GetPluginCapabilities')).capabilities).toEqual(ctlCaps);
      expect((await node.id('GetPluginInfo')).name).toBe('rds.csi.mikrotik.com');
      const vol = await ctl.ctl(
        'CreateVolume',
        { name: 'cli-volume', volumeCapabilities: [{ block: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } }] },
        20000,
      );
      expect(vol.volume.capacityBytes).toBe(String(1024 ** 3));
    } finally {
      ctl.close();
      node.close();
    }
    const exited = new Promise<number | null>((r) => aio.child.once('exit', (code) => r(code)));
    aio.child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(c)).toBe(false);
    expect(existsSync(n)).toBe(false);
  });

  it('simulator announces where it listens and stops on SIGTERM', async () => {
    const sim = await spawnCli(['simulator', '--data-dir', path.join(dir, 'sim'), '--port', '0', '--quiet'], {}, /"listening"/);
    const line = JSON.parse(sim.output().trim().split('\n')[0]) as { listening: { port: number } };
    expect(line.listening.port).toBeGreaterThan(0);
    const exited = new Promise<number | null>((r) => sim.child.once('exit', (code) => r(code)));
    sim.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it.each([
    [['controller', '--endpoint', 'unix:///tmp/x.sock', '--rds-address', 'nohostport'], 2, /--rds-address nohostport: expected HOST:PORT/],
    [['worker', '--redis-url', 'not a url'], 2, /redisUrl/],
    [['controller', '--endpoint', 'unix:///tmp/x.sock', '--log-level', 'loud'], 2, /logLevel/],
    [['controller'], 1, /required option '--endpoint/],
    // Node options are config keys like any other (src/config/options.ts): a bad one is a config error naming it.
    [
      ['node', '--endpoint', 'unix:///tmp/x.sock', '--node-id', 'n1', '--max-volumes-per-node', 'many'],
      2,
      /node\.maxVolumesPerNode \(--max-volumes-per-node, RDS_CSI_NODE_MAX_VOLUMES_PER_NODE\)/,
    ],
    [['node', '--endpoint', 'unix:///tmp/x.sock'], 2, /node\.nodeId \(--node-id, RDS_CSI_NODE_NODE_ID\)/],
    [['doctor', 'node', '--node-id', 'n1', '--kubelet-dir', 'relative'], 2, /node\.kubeletDir \(--kubelet-dir, RDS_CSI_NODE_KUBELET_DIR\)/],
  ])('rds-csi %p exits %i with a message that names the problem', (args, code, message) => {
    const res = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 10000 });
    expect(res.status).toBe(code);
    expect(res.stderr).toMatch(message);
  });
});
