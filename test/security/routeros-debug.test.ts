import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withoutRouterosDebug, ROUTEROS_DEBUG_SKIP } from '../../src/log/debug-guard';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { CLI } from '../support/processes';
import { startRedis, type TestRedis } from '../support/redis';

/**
 * Issue 18 item 7: node-routeros' own debug output (DEBUG=routeros-api:*) writes every sentence, the login's
 * `=password=` included, to stderr. The CLI strips those namespaces from DEBUG before node-routeros is loaded.
 */
const PASSWORD = 'R0uterOS-Login-Secret-77';

/** Runs the CLI without blocking this process's event loop (the simulator lives in it). */
function run(args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve) => child.once('close', () => resolve({ stdout, stderr })));
}

describe("node-routeros' debug output never reaches the process output", () => {
  let redis: TestRedis;
  let sim: RunningSimulator;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-debug-'));
    redis = await startRedis();
    sim = await startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, 'rds'), user: 'admin', password: PASSWORD });
  });
  afterAll(async () => {
    await sim.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['routeros-api:*', '*', 'ioredis:*,routeros-api:connector:transmitter:info'])(
    'DEBUG=%s: `rds-csi doctor controller` logs in to RDS, and stderr holds no password',
    async (debug) => {
      const args = ['doctor', 'controller', '--redis-url', redis.url, '--rds-address', `${sim.host}:${sim.port}`, '--rds-insecure-plaintext'];
      const res = await run(args, { DEBUG: debug, RDS_CSI_RDS_PASSWORD: PASSWORD });
      // It did log in and talk to RDS (the password was sent).
      expect(res.stdout).toMatch(/^ok +rds connection: .*logged in/m);
      expect(res.stdout).toMatch(/^ok +rds pool:/m);
      expect(res.stderr + res.stdout).not.toContain(PASSWORD);
      expect(res.stderr).not.toMatch(/routeros-api:[a-z:]+ /);
      expect(res.stderr).toMatch(/routeros-api:\*\) is switched off/);
    },
    30000,
  );

  it.each([
    [undefined, undefined, []],
    ['', '', []],
    ['ioredis:*', 'ioredis:*', []],
    ['routeros-api:*', ROUTEROS_DEBUG_SKIP, ['routeros-api:*']],
    ['routeros-api:connector:*,bullmq*', `bullmq*,${ROUTEROS_DEBUG_SKIP}`, ['routeros-api:connector:*']],
    ['*', `*,${ROUTEROS_DEBUG_SKIP}`, ['*']],
    ['r*  ioredis:*', `r*,ioredis:*,${ROUTEROS_DEBUG_SKIP}`, ['r*']],
    ['*,-routeros-api:*', '*,-routeros-api:*', []],
  ])('DEBUG=%p becomes %p (removed %p)', (input, value, removed) => {
    expect(withoutRouterosDebug(input)).toEqual({ value, removed });
  });
});
