import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { backendsFromConfig, type RdsBackends } from '../../src/rds/backends';
import { MOUNT_RWO } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { ownerCommentOf } from '../support/owner';
import { CLI, runCli, type CliRun } from '../support/processes';

/**
 * Issue 16, the operator commands with two RDS backends: the primary `default` and `rds-b`, each a RouterOS simulator
 * over TCP, volumes made through the controller (in-process worker). The compiled CLI (dist/, build first) is told both
 * backends the way an install does (RDS_CSI_BACKENDS). Which simulator holds a disk is read from the simulators.
 *
 * The twin: a disk on rds-b with the slot of a live volume on the primary. The primary's record says nothing about
 * rds-b, so on rds-b it is an orphan, and the primary's volume keeps its owner read from the primary's own disk.
 */

const MiB = 1024 * 1024;
const PVC = (name: string): Record<string, string> => ({ 'csi.storage.k8s.io/pvc/name': name, 'csi.storage.k8s.io/pvc/namespace': 'apps' });

interface ReportJson {
  backend: string;
  disks: Array<{ slot: string }>;
  known: { volumes: number; snapshots: number };
}

describe('operator commands with two RDS backends', () => {
  let h: Harness;
  let redis: Redis;
  let rdsB: RdsBackends;
  let env: Record<string, string>;
  let args: string[];
  const cli = (a: string[]): Promise<CliRun> => runCli([...a, ...args], env);
  const onSim = (backend: string, slot: string): boolean =>
    (backend === 'default' ? h.sim : h.extraSims.get(backend)!).disks().some((d) => d.slot === slot);
  const create = async (name: string, parameters: Record<string, string>): Promise<string> =>
    (await h.client.ctl('CreateVolume', { name, capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [MOUNT_RWO], parameters }, 30000))
      .volume.volumeId as string;
  /** Forgets a volume's record, leaving its disk on RDS: an orphan. */
  const forget = async (id: string): Promise<void> => {
    await redis.del(`${h.cfg.queuePrefix}:state:vol:${id}`);
    await redis.zrem(`${h.cfg.queuePrefix}:state:vols`, id);
  };
  const slotOf = (id: string): string => id.split('@')[0];

  let live: string; // on the primary, with a record
  let leakA: string; // on the primary, record forgotten
  let twin: string; // the slot of `live`, a disk on rds-b only

  beforeAll(async () => {
    h = await startHarness({ overrides: { 'kubernetes.mode': 'off' }, backends: [{ name: 'rds-b' }] });
    redis = new Redis(h.redis.url);
    const b = h.extraSims.get('rds-b')!;
    env = {
      RDS_CSI_RDS_PASSWORD: 'secret',
      RDS_CSI_BACKENDS: JSON.stringify([{ name: 'rds-b', host: b.host, port: b.port, password: 'secret' }]),
    };
    args = ['--redis-url', h.redis.url, '--rds-address', `${h.sim.host}:${h.sim.port}`, '--kubernetes', 'off'];
    live = await create('pvc-live-a', PVC('live-a'));
    leakA = await create('pvc-leak-a', {});
    await forget(leakA);
    rdsB = backendsFromConfig(h.cfg);
    twin = live;
    await rdsB.get('rds-b')!.rds.addDisk({
      slot: twin,
      filePath: `${h.cfg.backends[0].basePath}/${twin}.img`,
      fileSizeBytes: MiB,
      comment: ownerCommentOf(h.cfg, { namespace: 'other', name: 'twin' }),
    });
  });
  afterAll(async () => {
    await rdsB?.close();
    redis?.disconnect();
    await h?.stop();
  });

  it('orphans delete refuses while rds-b has no record at all, and then deletes nothing on any backend', async () => {
    const r = await cli(['orphans', 'delete', '--yes', '--include-exported']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/backend rds-b: Redis holds no volume or snapshot record, yet 1 driver disk\(s\) exist/);
    expect(r.stderr).not.toMatch(/backend default:/);
    expect([onSim('default', leakA), onSim('rds-b', twin)]).toEqual([true, true]);
  });

  describe('once rds-b has volumes', () => {
    let liveB: string;
    let leakB: string;
    beforeAll(async () => {
      liveB = await create('pvc-live-b', { backend: 'rds-b', ...PVC('live-b') });
      leakB = await create('pvc-leak-b', { backend: 'rds-b' });
      await forget(leakB);
      expect([liveB, leakB].map((id) => id.endsWith('@rds-b'))).toEqual([true, true]);
    });

    it('orphans list: a section per backend, each judged against its own records only', async () => {
      const r = await cli(['orphans', 'list']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const [a, b] = r.stdout.split(/\n\n/);
      expect(a).toMatch(/^backend default:\n/);
      expect(a).toMatch(new RegExp(`^disk\\s+\\S+/${leakA}\\.img\\s+${leakA}\\s`, 'm'));
      expect(a).toMatch(/^1 orphan disk\(s\) of cluster standalone/m);
      expect(b).toMatch(/^backend rds-b:\n/);
      for (const slot of [slotOf(leakB), twin]) expect(b).toMatch(new RegExp(`^disk\\s+\\S+/${slot}\\.img\\s+${slot}\\s`, 'm'));
      expect(b).toMatch(/^2 orphan disk\(s\) of cluster standalone/m);

      const json = JSON.parse((await cli(['orphans', 'list', '--json'])).stdout) as ReportJson[];
      expect(json.map((j) => [j.backend, j.disks.map((d) => d.slot).sort(), j.known.volumes])).toEqual([
        ['default', [leakA], 1],
        ['rds-b', [slotOf(leakB), twin].sort(), 1],
      ]);
    });

    it('--backend narrows to one backend; an unknown name is bad usage naming the configured ones', async () => {
      const only = JSON.parse((await cli(['orphans', 'list', '--json', '--backend', 'rds-b'])).stdout) as ReportJson[];
      expect(only.map((j) => j.backend)).toEqual(['rds-b']);
      for (const cmd of [
        ['orphans', 'list'],
        ['orphans', 'delete', '--yes'],
        ['volumes', 'list'],
      ]) {
        const r = spawnSync(process.execPath, [CLI, ...cmd, '--backend', 'rds-x', ...args], {
          encoding: 'utf8',
          timeout: 15000,
          env: { ...process.env, ...env },
        });
        expect([cmd.join(' '), r.status]).toEqual([cmd.join(' '), 2]);
        expect(r.stderr).toContain('--backend rds-x: no such RDS backend in this configuration (configured: default, rds-b)');
      }
    });

    it('volumes list: a BACKEND column, and --rds reads each owner on its own backend', async () => {
      const r = await cli(['volumes', 'list', '--rds']);
      expect(r.stderr).toBe('');
      expect(r.stdout.split('\n')[0]).toMatch(/^ID\s+BACKEND\s+STATE\s+SIZE\s+ACCESS\s+PVC\s+ATTACHED\s+CREATED\s+OWNER$/);
      // The twin on rds-b (pvc=other/twin) is not the primary volume's disk.
      expect(r.stdout).toMatch(new RegExp(`^${live}\\s+default\\s+ready\\s.*cluster=standalone pvc=apps/live-a$`, 'm'));
      expect(r.stdout).toMatch(new RegExp(`^${liveB}\\s+rds-b\\s+ready\\s.*cluster=standalone pvc=apps/live-b$`, 'm'));
      const narrowed = JSON.parse((await cli(['volumes', 'list', '--rds', '--json', '--backend', 'rds-b'])).stdout) as Array<{
        id: string;
        backend: string;
        owner: { pvc?: { name: string } } | null;
      }>;
      expect(narrowed.map((v) => [v.id, v.backend, v.owner?.pvc?.name])).toEqual([[liveB, 'rds-b', 'live-b']]);
    });

    it('orphans delete --backend rds-b deletes only rds-b orphans; then every backend', async () => {
      const b = await cli(['orphans', 'delete', '--yes', '--include-exported', '--backend', 'rds-b']);
      expect(b.stderr).toBe('');
      expect(b.status).toBe(0);
      expect(b.stdout.split('\n')[0]).toMatch(/^BACKEND\s+KIND\s+PATH\s+RESULT\s+DETAIL$/);
      expect(b.stdout).toMatch(/^2 deleted, 0 skipped, 0 failed$/m);
      expect([
        onSim('rds-b', slotOf(leakB)),
        onSim('rds-b', twin),
        onSim('default', twin),
        onSim('default', leakA),
        onSim('rds-b', slotOf(liveB)),
      ]).toEqual([false, false, true, true, true]);
      const all = await cli(['orphans', 'delete', '--yes', '--include-exported']);
      expect(all.status).toBe(0);
      expect(all.stdout).toMatch(new RegExp(`^default\\s+disk\\s+\\S+/${leakA}\\.img\\s+deleted`, 'm'));
      expect(all.stdout).toMatch(/^1 deleted, 0 skipped, 0 failed$/m);
      expect([onSim('default', leakA), onSim('default', live)]).toEqual([false, true]);
    });
  });
});
