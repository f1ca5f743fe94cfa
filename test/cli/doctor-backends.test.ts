import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { removeDirSafely } from '../../src/host/safe-remove';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { CLI } from '../support/processes';
import { startRedisWith, type Server } from '../support/redis-servers';

/**
 * `rds-csi doctor controller` with several RDS backends (issue 16 item 4): the compiled binary against a real Redis
 * and two RouterOS simulators over TCP ("default" and "rds-b", its password from a file). One section per backend in
 * the text and in the JSON; with rds-b stopped the command exits 1 and the summary names rds-b, while default's
 * checks still pass.
 */
interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>, timeoutMs = 30000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`rds-csi ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

interface Check {
  name: string;
  status: string;
  detail: string;
  fix?: string;
  backend?: string;
}

describe('rds-csi doctor controller: every RDS backend', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-doctor-backends-'));
  let redis: Server;
  let simA: RunningSimulator;
  let simB: RunningSimulator;
  let env: Record<string, string>;
  const args = (): string[] => ['doctor', 'controller', '--redis-url', redis.url, '--rds-address', `127.0.0.1:${simA.port}`];

  beforeAll(async () => {
    redis = await startRedisWith(['--appendonly', 'yes']);
    simA = await startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, 'a'), password: 'secret' });
    simB = await startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, 'b'), password: 'b-secret' });
    const passwordFile = path.join(dir, 'rds-b-password');
    writeFileSync(passwordFile, 'b-secret\n');
    env = {
      RDS_CSI_RDS_PASSWORD: 'secret',
      RDS_CSI_BACKENDS: JSON.stringify([
        { name: 'rds-b', host: '127.0.0.1', port: simB.port, passwordFile, connectTimeoutMs: 1000, callTimeoutMs: 2000 },
      ]),
    };
  });
  afterAll(async () => {
    await simA?.close();
    await simB?.close();
    await redis?.stop();
    removeDirSafely(dir);
  });

  it('both answer: exit 0, a section per backend, each with connection, pool and disks', async () => {
    const r = await runCli(args(), env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const text = r.stdout;
    const a = text.indexOf('\nbackend default:\n');
    const b = text.indexOf('\nbackend rds-b:\n');
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(a);
    for (const section of [text.slice(a, b), text.slice(b)]) {
      expect(section).toMatch(/^ok {3}rds connection: 127\.0\.0\.1:\d+ as admin \(plain API\): logged in/m);
      expect(section).toMatch(/^ok {3}rds pool: pool "pool": /m);
      expect(section).toMatch(/^ok {3}rds disks: 0 file disk\(s\) under \/pool\/rds-csi/m);
    }
    expect(text.slice(b)).toContain(`127.0.0.1:${simB.port} as admin`);
    expect(text).toMatch(/^all checks passed \(\d+ warning\(s\)\)$/m);
  });

  it('one backend stopped: exit 1, the summary and its section name it, the other still passes; JSON per backend', async () => {
    await simB.close();
    const r = await runCli(args(), env);
    expect(r.status).toBe(1);
    const b = r.stdout.indexOf('\nbackend rds-b:\n');
    expect(r.stdout.slice(b)).toMatch(
      /^FAIL rds connection: 127\.0\.0\.1:\d+ as admin \(plain API\): .*\n {5}fix: check backends\[0\]\.host and backends\[0\]\.port/m,
    );
    expect(r.stdout.slice(0, b)).toMatch(/^ok {3}rds connection: /m);
    expect(r.stdout).toMatch(/^1 check\(s\) failed, \d+ warning\(s\); failing RDS backend\(s\): rds-b$/m);

    const j = await runCli([...args(), '--json'], env);
    expect(j.status).toBe(1);
    const res = JSON.parse(j.stdout) as { ok: boolean; backends: Array<{ name: string; ok: boolean }>; checks: Check[] };
    expect(res.ok).toBe(false);
    expect(res.backends).toEqual([
      { name: 'default', ok: true },
      { name: 'rds-b', ok: false },
    ]);
    const rds = res.checks.filter((c) => c.backend !== undefined).map((c) => [c.backend, c.name, c.status]);
    expect(rds).toEqual([
      ['default', 'rds connection', 'ok'],
      ['default', 'rds tls', 'warn'],
      ['default', 'rds pool', 'ok'],
      ['default', 'rds disks', 'ok'],
      ['rds-b', 'rds connection', 'fail'],
      ['rds-b', 'rds tls', 'warn'],
    ]);
  });
});
