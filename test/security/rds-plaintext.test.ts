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
  let simB: RunningSimulator;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-plain-'));
    redis = await startRedis();
    sim = await startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, 'rds'), user: 'admin', password: 'secret' });
    simB = await startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, 'rds-b'), user: 'admin', password: 'secret' });
  });
  afterAll(async () => {
    await simB.close();
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

  describe('every extra RDS backend follows the rule with its own keys (issue 16)', () => {
    // The primary's plain API is accepted explicitly; backend rds-b (backends[0]) says nothing about its own.
    const withBackend = (entry: Record<string, unknown>): Record<string, string> => ({
      ...noChoice,
      RDS_CSI_BACKENDS: JSON.stringify([{ name: 'rds-b', host: simB.host, port: simB.port, password: 'secret', ...entry }]),
    });

    it.each(['controller', 'worker'])('rds-csi %s with a plaintext backend that did not choose it refuses to start, naming the backend', (cmd) => {
      const res = spawnSync(process.execPath, [CLI, ...args(cmd), '--rds-insecure-plaintext'], {
        encoding: 'utf8',
        timeout: 15000,
        env: { ...process.env, ...withBackend({}) },
      });
      expect(res.status).toBe(2);
      expect(res.stderr).toMatch(/RDS backend rds-b over the plain RouterOS API/);
      for (const what of ['backends[0].tls', 'backends[0].insecurePlaintext']) expect(res.stderr).toContain(what);
    });

    it('all-in-one with its embedded simulator still refuses a configured plaintext backend', () => {
      const aio = ['all-in-one', '--controller-endpoint', `unix://${dir}/a2.sock`, '--node-endpoint', `unix://${dir}/b2.sock`];
      const res = spawnSync(process.execPath, [CLI, ...aio], { encoding: 'utf8', timeout: 15000, env: { ...process.env, ...withBackend({}) } });
      expect(res.status).toBe(2);
      expect(res.stderr).toContain('backends[0].insecurePlaintext');
    });

    it.each([
      ['controller', /controller ready/],
      ['worker', /worker ready/],
    ])(
      'rds-csi %s with backends[0].insecurePlaintext starts and warns for that backend',
      async (cmd, ready) => {
        const proc = await spawnCli([...args(cmd), '--rds-insecure-plaintext'], withBackend({ insecurePlaintext: true }), ready);
        try {
          const warnings = proc
            .output()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { level: number; msg: string; backend?: string })
            .filter((l) => /plain RouterOS API/.test(l.msg));
          expect(warnings.map((w) => [w.level, w.backend ?? 'primary'])).toEqual([
            [40, 'primary'],
            [40, 'rds-b'],
          ]);
          expect(warnings[1].msg).toContain('backends[0].insecurePlaintext');
        } finally {
          await proc.kill();
        }
      },
      30000,
    );
  });
});
