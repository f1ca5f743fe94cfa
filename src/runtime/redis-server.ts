/**
 * A private redis-server child on a free loopback port with its own data dir: the all-in-one mode, the tests and
 * the benchmark all start theirs through this one module, never the machine's shared instance.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { removeDirSafely } from '../host/safe-remove';

export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  dir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** AOF `everysec` (the driver's production setting); default off (tests need no persistence). */
  persistence?: boolean;
  /** More redis-server arguments; later ones win (e.g. `--maxmemory-policy allkeys-lru`). */
  extraArgs?: string[];
  /** Replace the default arguments entirely (a config file for Sentinel, TLS ports); `{port}`/`{dir}` are filled in. */
  args?: string[];
  scheme?: 'redis' | 'rediss';
  /** Temp dir name prefix. */
  name?: string;
  port?: number;
  /**
   * requirepass. Written to a config file (mode 0600) in the data dir that redis-server reads, never passed on the
   * command line, where every local user could read it in /proc/<pid>/cmdline and `ps`. The URL then carries it.
   */
  password?: string;
}

/** A redis.conf string value: double-quoted with `\` and `"` escaped (redis' sdssplitargs rules). */
export function redisConfString(value: string): string {
  if (/[\r\n\0]/.test(value)) throw new Error('a Redis password cannot contain CR, LF or NUL');
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export const REDIS_INSTALL_HINT = 'apt-get install -y redis-server   (Debian/Ubuntu; as root)';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves when something accepts connections on the port; rejects when `child` exits first or time is up. */
export function waitForPort(port: number, child: ChildProcess | undefined, timeoutMs: number, what = 'redis-server'): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child && child.exitCode !== null) return reject(new Error(`${what} exited with ${child.exitCode}`));
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > until) reject(new Error(`${what} did not listen on ${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

export function hasRedisServer(): boolean {
  return spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status === 0;
}

export async function startRedisServer(o: RedisServerOptions = {}): Promise<RedisServer> {
  if (!hasRedisServer()) throw new Error(`redis-server is not on PATH; install it: ${REDIS_INSTALL_HINT}`);
  const port = o.port ?? (await freePort());
  const dir = mkdtempSync(path.join(os.tmpdir(), `${o.name ?? 'rds-csi-redis'}-`));
  const persistence = o.persistence ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
  const args = o.args
    ? o.args.map((a) => a.replace('{port}', String(port)).replace('{dir}', dir))
    : [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        ...persistence,
        '--maxmemory-policy',
        'noeviction',
        ...(o.extraArgs ?? []),
      ];
  if (o.password !== undefined) {
    if (o.args) throw new Error('startRedisServer: password with args: put requirepass in your own config file');
    // The config file comes first: the options after it still apply, and only its path shows in `ps`.
    const conf = path.join(dir, 'auth.conf');
    writeFileSync(conf, `requirepass ${redisConfString(o.password)}\n`, { mode: 0o600 });
    args.unshift(conf);
  }
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    removeDirSafely(dir);
  };
  try {
    await waitForPort(port, child, 10000);
  } catch (err) {
    await stop();
    throw err;
  }
  const auth = o.password !== undefined ? `:${encodeURIComponent(o.password)}@` : '';
  return { url: `${o.scheme ?? 'redis'}://${auth}127.0.0.1:${port}`, port, pid: child.pid ?? -1, dir, child, stop };
}
