import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRedis, type TestRedis } from '../support/redis';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { CLI, spawnCli } from '../support/processes';

/**
 * Issue 18 item 4: the plain RouterOS API sends the RDS password in clear, so the CLI never uses it by default:
 * without TLS and without --rds-insecure-plaintext (RDS_CSI_RDS_INSECURE_PLAINTEXT) the controller and worker refuse
 * to start and say what to set; with it they start and warn in the log.
 */
describe('plain RouterOS API is an explicit choice', () => {
  let redis: TestRedis;
  let sim: RunningSimulator;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-plain-'));
    redis = await startRedis();
    sim = await startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, 'rds'), user: 'admin', password: 'secret' });
  });
  afterAll(async () => {
    await sim.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const args = (cmd: string): string[] => [
    cmd,
    ...(cmd === 'controller' ? ['--endpoint', `unix://${path.join(dir, `${cmd}.sock`)}`] : []),
    '--redis-url',
    redis.url,
    '--rds-address',
    `${sim.host}:${sim.port}`,
    '--log-level',
    'info',
  ];
  const noChoice = { RDS_CSI_RDS_INSECURE_PLAINTEXT: '', RDS_CSI_RDS_TLS: '', RDS_CSI_RDS_PASSWORD: 'secret' };

  it.each(['controller', 'worker'])('rds-csi %s without TLS and without the flag refuses to start, naming what to set', (cmd) => {
    const res = spawnSync(process.execPath, [CLI, ...args(cmd)], { encoding: 'utf8', timeout: 15000, env: { ...process.env, ...noChoice } });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/plain RouterOS API/);
    for (const what of ['--rds-tls', '--rds-ca-file', '--rds-insecure-plaintext', 'RDS_CSI_RDS_INSECURE_PLAINTEXT'])
      expect(res.stderr).toContain(what);
  });

  it('all-in-one with an external --rds-address follows the same rule', () => {
    const aio = [
      'all-in-one',
      '--controller-endpoint',
      `unix://${dir}/a.sock`,
      '--node-endpoint',
      `unix://${dir}/b.sock`,
      '--rds-address',
      `${sim.host}:${sim.port}`,
    ];
    const res = spawnSync(process.execPath, [CLI, ...aio], { encoding: 'utf8', timeout: 15000, env: { ...process.env, ...noChoice } });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('--rds-insecure-plaintext');
  });

  it.each([
    ['controller', 'the flag', ['--rds-insecure-plaintext'], {}, /controller ready/],
    ['worker', 'the flag', ['--rds-insecure-plaintext'], {}, /worker ready/],
    ['worker', 'the environment variable', [], { RDS_CSI_RDS_INSECURE_PLAINTEXT: 'true' }, /worker ready/],
  ])(
    'rds-csi %s with %s starts and warns that the password crosses the network unencrypted',
    async (cmd, _how, flags, env, ready) => {
      const proc = await spawnCli([...args(cmd), ...flags], { ...noChoice, ...env }, ready);
      try {
        const warning = proc
          .output()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { level: number; msg: string })
          .find((l) => /plain RouterOS API/.test(l.msg));
        expect(warning).toMatchObject({ level: 40 });
        expect(warning?.msg).toMatch(/unencrypted/);
      } finally {
        await proc.kill();
      }
    },
    30000,
  );

  // Issue 16: an extra backend has its own tls/insecurePlaintext; the primary's choice does not cover it.
  it.each(['controller', 'worker'])('rds-csi %s refuses an extra backend on plain API that was not chosen for it, naming the backend', (cmd) => {
    const backends = JSON.stringify([{ name: 'rds-b', host: sim.host, port: sim.port, password: 'secret' }]);
    const res = spawnSync(process.execPath, [CLI, ...args(cmd), '--rds-insecure-plaintext'], {
      encoding: 'utf8',
      timeout: 15000,
      env: { ...process.env, ...noChoice, RDS_CSI_BACKENDS: backends },
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/RDS backend rds-b over the plain RouterOS API/);
    expect(res.stderr).toContain('backends[0].insecurePlaintext');
  });
});
