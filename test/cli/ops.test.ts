import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startHarness, type Harness } from '../support/controller-harness';
import { CLI, runCli, type CliRun } from '../support/processes';
import { waitFor } from '../support/wait';
import { makeCerts, startRedisWith, startSentinel, startTlsRedis, type Certs, type Server } from '../support/redis-servers';

/**
 * The operator commands as scripts use them: the compiled binary (dist/, `npx tsc -p tsconfig.json` first), human
 * tables by default, `--json`, and exit codes 0 ok / 1 check failed or not found / 2 bad usage or config.
 *
 * Commands that reach RDS run with an async spawn: the simulator and the controller live in this jest process, and
 * spawnSync would block the event loop that has to answer the CLI. Pure usage errors use spawnSync.
 */

const MiB = 1024 * 1024;
const BLOCK = { block: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } };

describe('rds-csi operator commands', () => {
  let h: Harness;
  let redis: Redis;
  const extra: Server[] = [];
  const env = { RDS_CSI_RDS_PASSWORD: 'secret' };
  const conn = (redisUrl = h.redis.url): string[] => ['--redis-url', redisUrl, '--rds-address', `${h.sim.host}:${h.sim.port}`];
  const cli = (args: string[], more: Record<string, string> = {}): Promise<CliRun> => runCli(args, { ...env, ...more });
  const json = <T>(r: CliRun): T => JSON.parse(r.stdout) as T;
  type Check = { name: string; status: string; detail: string; fix?: string };

  beforeAll(async () => {
    h = await startHarness({ overrides: { nodes: 'n1,n2', 'kubernetes.mode': 'off' } });
    redis = new Redis(h.redis.url);
  });
  afterAll(async () => {
    redis.disconnect();
    for (const s of extra) await s.stop();
    await h.stop();
  });

  describe('doctor controller', () => {
    it('fails on a Redis without persistence, passes once AOF is on, and shows the pool', async () => {
      const bad = await cli(['doctor', 'controller', ...conn()]);
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(/^FAIL redis persistence: none: AOF off and no RDB save schedule/m);
      expect(bad.stdout).toMatch(/fix: turn on AOF: appendonly yes/);
      expect(bad.stdout).toMatch(/^ok {3}redis maxmemory-policy: noeviction/m);
      await redis.config('SET', 'appendonly', 'yes');
      try {
        const good = await cli(['doctor', 'controller', ...conn()]);
        expect(good.status).toBe(0);
        expect(good.stdout).toMatch(/^ok {3}redis persistence: AOF on, appendfsync everysec/m);
        expect(good.stdout).toMatch(/^ok {3}rds connection: 127\.0\.0\.1:\d+ as admin \(plain API\): logged in/m);
        expect(good.stdout).toMatch(/^ok {3}rds pool: pool "pool": .* free of .* \(\d+%\)/m);
        expect(good.stdout).toMatch(/^ok {3}workers: \d+ worker connection/m);
        expect(good.stdout).toMatch(/^WARN rds tls: /m); // a warning, not a failure
        expect(good.stdout).toMatch(/^all checks passed \(1 warning\(s\)\)$/m);
        const res = json<{ ok: boolean; checks: Check[] }>(await cli(['doctor', 'controller', '--json', ...conn()]));
        expect(res.ok).toBe(true);
        expect(res.checks.map((c) => c.name)).toEqual(
          expect.arrayContaining([
            'redis reachable',
            'redis version',
            'redis maxmemory-policy',
            'redis persistence',
            'queue prefix',
            'queue',
            'workers',
            'rds connection',
            'rds pool',
            'rds disks',
          ]),
        );
      } finally {
        await redis.config('SET', 'appendonly', 'no');
      }
    });

    it('reports allkeys-lru and exits 1', async () => {
      const lru = await startRedisWith(['--appendonly', 'yes', '--maxmemory-policy', 'allkeys-lru']);
      extra.push(lru);
      const r = await cli(['doctor', 'controller', ...conn(lru.url)]);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/^FAIL redis maxmemory-policy: allkeys-lru .*evict a job or record key/m);
      expect(r.stdout).toMatch(/fix: set maxmemory-policy noeviction/);
      expect(r.stdout).toMatch(/^1 check\(s\) failed/m);
      const j = await cli(['doctor', 'controller', '--json', ...conn(lru.url)]);
      expect(j.status).toBe(1);
      expect(json<{ ok: boolean; checks: Check[] }>(j)).toMatchObject({
        ok: false,
        checks: expect.arrayContaining([expect.objectContaining({ name: 'redis maxmemory-policy', status: 'fail' })]),
      });
    });

    it('names wrong RDS credentials and an unreachable Redis, each with its fix', async () => {
      const r = await cli(['doctor', 'controller', ...conn()], { RDS_CSI_RDS_PASSWORD: 'wrong' });
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/^FAIL rds connection: .*login/im);
      expect(r.stdout).toMatch(/fix: check rds.user and the password/);
      const gone = await startRedisWith([]);
      await gone.stop();
      const u = await cli(['doctor', 'controller', ...conn(gone.url)]);
      expect(u.status).toBe(1);
      expect(u.stdout).toMatch(/^FAIL redis reachable: .*ECONNREFUSED/m);
    });

    it('reaches Redis through Sentinel', async () => {
      const master = await startRedisWith(['--appendonly', 'yes']);
      extra.push(master);
      const sentinel = await startSentinel(master.port, 'mymaster');
      extra.push(sentinel);
      const r = await cli([
        'doctor',
        'controller',
        ...conn('redis://unused:1'),
        '--redis-sentinels',
        `127.0.0.1:${sentinel.port}`,
        '--redis-sentinel-name',
        'mymaster',
      ]);
      expect(r.stdout).toMatch(
        new RegExp(`^ok {3}redis reachable: master "mymaster" via sentinels 127\\.0\\.0\\.1:${sentinel.port}: Redis .* role master`, 'm'),
      );
      expect(r.status).toBe(0);
      const env2 = await cli(['doctor', 'controller', ...conn('redis://unused:1')], {
        RDS_CSI_REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`,
        RDS_CSI_REDIS_SENTINEL_NAME: 'mymaster',
      });
      expect(env2.status).toBe(0);
    });

    describe('over TLS', () => {
      let certs: Certs;
      let tls: Server;
      beforeAll(async () => {
        certs = makeCerts();
        tls = await startTlsRedis(certs);
        extra.push(tls);
      });
      afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));

      it('passes with the CA that signed the server, fails with another, refuses a CA without rediss://', async () => {
        const ok = await cli(['doctor', 'controller', ...conn(tls.url), '--redis-ca-file', certs.ca]);
        expect(ok.stdout).toMatch(/^ok {3}redis reachable: rediss:\/\/127\.0\.0\.1:\d+\/? \(CA .*ca\.crt\)/m);
        expect(ok.status).toBe(0);
        const other = await cli(['doctor', 'controller', ...conn(tls.url), '--redis-ca-file', certs.otherCa]);
        expect(other.status).toBe(1);
        expect(other.stdout).toMatch(/^FAIL redis reachable: .*(self[- ]signed|unable to verify|certificate)/im);
        const plain = await cli(['doctor', 'controller', ...conn(h.redis.url), '--redis-ca-file', certs.ca]);
        expect(plain.status).toBe(2);
        expect(plain.stderr).toMatch(/redis.caFile is set but redisUrl .* is not rediss:\/\//);
      });
    });
  });

  describe('jobs and volumes', () => {
    let vol: string;
    beforeAll(async () => {
      vol = (
        await h.client.ctl(
          'CreateVolume',
          { name: 'cli-jobs', capacityRange: { requiredBytes: String(3 * MiB) }, volumeCapabilities: [BLOCK] },
          20000,
        )
      ).volume.volumeId as string;
      await h.client.ctl('ControllerPublishVolume', { volumeId: vol, nodeId: 'n2', volumeCapability: BLOCK, readonly: false }, 20000);
    });

    it('lists, shows, retries and cleans jobs', async () => {
      const list = await cli(['jobs', 'list', ...conn()]);
      expect(list.status).toBe(0);
      expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+STATE\s+ATTEMPTS\s+AGE\s+REASON$/);
      expect(list.stdout).toMatch(new RegExp(`^disk\\.create-${vol}-\\S+\\s+disk\\.create\\s+completed\\s+1/3`, 'm'));
      const jobs = json<Array<{ id: string; name: string; state: string; volumeId?: string }>>(
        await cli(['jobs', 'list', '--json', '--state', 'completed', ...conn()]),
      );
      const create = jobs.find((j) => j.name === 'disk.create' && j.volumeId === vol);
      expect(create).toBeDefined();
      expect(jobs.every((j) => j.state === 'completed')).toBe(true);

      const show = await cli(['jobs', 'show', create!.id, ...conn()]);
      expect(show.status).toBe(0);
      expect(show.stdout).toMatch(/^state: +completed$/m);
      expect(show.stdout).toMatch(/^attempts: +1 of 3$/m);
      expect(show.stdout).toMatch(new RegExp(`^data: +.*"volumeId":"${vol}"`, 'm'));
      expect(json<{ data: { sizeBytes: number } }>(await cli(['jobs', 'show', '--json', create!.id, ...conn()])).data.sizeBytes).toBe(3 * MiB);
      const missing = await cli(['jobs', 'show', 'no-such-job', ...conn()]);
      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(/job no-such-job not found/);
      const notFailed = await cli(['jobs', 'retry', create!.id, ...conn()]);
      expect(notFailed.status).toBe(1);
      expect(notFailed.stderr).toMatch(/is completed; only a failed job can be retried/);

      // A job that failed all its attempts (RDS busy), retried from the CLI.
      h.sim.faults.trapNext('/disk/add', 'busy', 3);
      await h.client
        .ctl('CreateVolume', { name: 'cli-busy', capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [BLOCK] }, 20000)
        .catch(() => undefined);
      const failed = json<Array<{ id: string; failedReason: string }>>(await cli(['jobs', 'list', '--json', '--state', 'failed', ...conn()]));
      expect(failed).toHaveLength(1);
      expect(failed[0].failedReason).toMatch(/busy/);
      const retried = await cli(['jobs', 'retry', failed[0].id, ...conn()]);
      expect(retried.status).toBe(0);
      expect(retried.stdout).toMatch(/moved to waiting/);
      await waitFor(async () => (await cli(['jobs', 'show', failed[0].id, ...conn()])).stdout.includes('completed'), 20000, 'the retried job');

      const cleaned = await cli(['jobs', 'clean', '--state', 'completed', '--grace-ms', '0', '--json', ...conn()]);
      expect(cleaned.status).toBe(0);
      expect(json<{ removed: string[] }>(cleaned).removed).toContain(create!.id);
      expect((await cli(['jobs', 'list', '--state', 'completed', ...conn()])).stdout.trim()).toBe('no completed jobs');
    });

    it('lists volumes with state, size and attachments', async () => {
      const r = await cli(['volumes', 'list', ...conn()]);
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n')[0]).toMatch(/^ID\s+STATE\s+SIZE\s+ACCESS\s+PVC\s+ATTACHED\s+CREATED$/);
      expect(r.stdout).toMatch(new RegExp(`^${vol}\\s+ready\\s+3\\.0 MiB\\s+block\\s+-\\s+n2\\s+`, 'm'));
      const list = json<Array<{ id: string; state: string; capacityBytes: number; attachment: { nodes: Record<string, unknown> } | null }>>(
        await cli(['volumes', 'list', '--json', ...conn()]),
      );
      expect(list.find((v) => v.id === vol)).toMatchObject({
        state: 'ready',
        capacityBytes: 3 * MiB,
        attachment: { nodes: { n2: expect.any(Object) } },
      });
    });
  });

  describe('orphans', () => {
    it('lists an orphan disk and deletes it only with --yes (and --include-exported, as it is exported)', async () => {
      const leaked = (
        await h.client.ctl('CreateVolume', { name: 'cli-leak', capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [BLOCK] }, 20000)
      ).volume.volumeId as string;
      await redis.del(`${h.cfg.queuePrefix}:state:vol:${leaked}`);
      await redis.zrem(`${h.cfg.queuePrefix}:state:vols`, leaked);
      const list = await cli(['orphans', 'list', ...conn()]);
      expect(list.status).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`^disk\\s+/pool/rds-csi/${leaked}\\.img\\s+${leaked}\\s+1\\.0 MiB\\s+yes$`, 'm'));
      expect(list.stdout).toMatch(/^1 orphan disk\(s\) of cluster standalone, 0 orphan file\(s\) under \/pool\/rds-csi/m);
      const report = json<{ disks: Array<{ slot: string }>; filesChecked: boolean }>(await cli(['orphans', 'list', '--json', ...conn()]));
      expect(report.filesChecked).toBe(true);
      expect(report.disks.map((d) => d.slot)).toEqual([leaked]);

      const noYes = await cli(['orphans', 'delete', ...conn()]);
      expect(noYes.status).toBe(2);
      expect(noYes.stderr).toMatch(/add --yes/);
      const skipped = await cli(['orphans', 'delete', '--yes', ...conn()]);
      expect(skipped.status).toBe(0);
      expect(skipped.stdout).toMatch(/^disk\s+\S+\s+skipped\s+exported over NVMe\/TCP/m);
      const deleted = await cli(['orphans', 'delete', '--yes', '--include-exported', ...conn()]);
      expect(deleted.status).toBe(0);
      expect(deleted.stdout).toMatch(/^1 deleted, 0 skipped, 0 failed$/m);
      expect(h.sim.disks().some((d) => d.slot === leaked)).toBe(false);
      expect((await cli(['orphans', 'list', ...conn()])).stdout).toMatch(/^0 orphan disk\(s\) of cluster standalone, 0 orphan file\(s\)/m);
    });
  });

  it('exits 1 when Redis cannot be reached', async () => {
    const gone = await startRedisWith([]);
    await gone.stop();
    const r = await cli(['volumes', 'list', '--redis-url', gone.url, '--timeout-ms', '1500']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot reach Redis \(redis:\/\/127\.0\.0\.1:\d+\/?\): .*ECONNREFUSED/);
  });

  it.each([
    [['jobs', 'frob'], /unknown command 'frob'/],
    [['jobs', 'list', '--state', 'stuck'], /argument 'stuck' is invalid/],
    [['jobs', 'list', '--limit', 'many'], /--limit many: expected a whole number/],
    [['jobs', 'clean'], /required option '--state <state>'/],
    [['jobs', 'show'], /missing required argument 'id'/],
    [['doctor', 'controller', '--bogus'], /unknown option '--bogus'/],
    [['doctor', 'controller', '--redis-sentinels', 'a:1'], /redis.sentinels is set but redis.sentinelName/],
    [['volumes', 'list', '--redis-sentinels', 'nohost', '--redis-sentinel-name', 'm'], /"nohost" is not HOST:PORT/],
    [['orphans', 'list', '--rds-address', 'nohostport'], /expected HOST:PORT/],
  ])('rds-csi %p exits 2 naming the problem', (args, message) => {
    const res = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 10000 });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(message);
  });
});
