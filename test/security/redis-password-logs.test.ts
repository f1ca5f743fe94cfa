import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startRedisServer, type RedisServer } from '../../src/runtime/redis-server';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { CLI, TEST_ENV } from '../support/processes';
import { createLogger } from '../../src/log/logger';

/**
 * Issue 18 item 2: a Redis that refuses the driver's password (rotated secret, chart re-render) must not make the
 * driver log that password. ioredis puts the failed command on its error (`command.args` = the AUTH password);
 * the logger's error serializer keeps only type, message, stack and a few scalar fields.
 */
const WRONG = 'wr0ng-Redis-Passw0rd-4c1d';

/** Every stdout/stderr line the process writes in `ms`, then SIGKILL. */
function linesFor(args: string[], ms: number): Promise<string[]> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...TEST_ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  return new Promise((resolve) => {
    setTimeout(() => {
      child.once('exit', () => resolve(out.split('\n').filter(Boolean)));
      child.kill('SIGKILL');
    }, ms);
  });
}

/** Key paths of every `command` or `args` property anywhere in a JSON log line. */
function commandKeys(value: unknown, at = ''): string[] {
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [
    ...(k === 'command' || k === 'args' ? [`${at}${k}`] : []),
    ...commandKeys(v, `${at}${k}.`),
  ]);
}

describe('a Redis that refuses the password', () => {
  let redis: RedisServer;
  let sim: RunningSimulator;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-redispw-'));
    redis = await startRedisServer({ name: 'rds-csi-test-redis', password: 'the-right-one' });
    sim = await startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, 'rds'), user: 'admin', password: 'secret' });
  });
  afterAll(async () => {
    await sim.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['worker', []],
    ['controller', ['--endpoint', 'unix://{dir}/c.sock', '--with-worker']],
  ])(
    'rds-csi %s logs the refusal but never the password nor a command argument',
    async (cmd, extra) => {
      const url = `redis://:${WRONG}@127.0.0.1:${redis.port}`;
      const args = [
        cmd,
        ...extra.map((a) => a.replace('{dir}', dir)),
        '--redis-url',
        url,
        '--rds-address',
        `${sim.host}:${sim.port}`,
        '--log-level',
        'debug',
      ];
      const lines = await linesFor(args, 4000);
      // Not vacuous: the process did log Redis refusing it.
      expect(lines.join('\n')).toMatch(/WRONGPASS|NOAUTH|invalid (username-)?password/i);
      expect(lines.filter((l) => l.includes(WRONG))).toEqual([]);
      const parsed = lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as unknown];
        } catch {
          return [];
        }
      });
      expect(parsed.flatMap((l) => commandKeys(l))).toEqual([]);
    },
    20000,
  );
});

describe('the logger never writes what an error carries beyond type, message, stack and scalar fields', () => {
  const withCommand = (): Error =>
    Object.assign(new Error('WRONGPASS invalid username-password pair'), { command: { name: 'auth', args: [WRONG] }, code: 'WRONGPASS' });
  it.each([
    ['err', { err: withCommand() }],
    ['error', { error: withCommand() }],
    ['an Error as the first argument', withCommand()],
    ['a cause', { err: new Error('wrapped', { cause: withCommand() }) }],
    ['an AggregateError', { err: new AggregateError([withCommand()], 'all failed') }],
    ['a plain object under err', { err: { message: 'x', command: { args: [WRONG] } } }],
  ])('%s', (_what, obj) => {
    const lines: string[] = [];
    const log = createLogger('info', 'test', { write: (s: string) => void lines.push(s) });
    log.error(obj, 'failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(WRONG);
    expect(commandKeys(JSON.parse(lines[0]))).toEqual([]);
    expect(lines[0]).toMatch(/WRONGPASS|wrapped|all failed|"x"/);
  });
});
