import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { freePort, startRedisServer, waitForPort, type RedisServer } from '../../src/runtime/redis-server';
import { waitForSockets } from '../../src/runtime/wait-sockets';
import { TEST_ENV } from '../support/processes';

/**
 * The kill-storm's cluster: one redis-server with AOF (appendfsync everysec, the production setting) on a fixed port
 * and data dir, so a SIGKILLed Redis restarts on its own AOF; the RouterOS simulator as `rds-csi simulator` (one per
 * RDS backend: the primary, and with `extraBackends` one more each, configured through the `backends` key, issue 16);
 * two `rds-csi controller` and two `rds-csi worker` processes. Each can be SIGKILLed and restarted under the same
 * name, port and socket. Every child's output goes to `<dir>/logs/<name>.log`.
 */

/** The compiled CLI, from the sources (ts-jest: test/chaos) or from the compiled tree (dist/test/chaos). */
const CLI =
  [path.resolve(__dirname, '../../dist/src/cli/main.js'), path.resolve(__dirname, '../../src/cli/main.js')].find(
    (p) => p.endsWith('.js') && existsSync(p),
  ) ?? '';

export const SIM_USER = 'admin';
export const SIM_PASSWORD = 'chaos-secret';
export const NODES = ['node-a', 'node-b'];

/** Driver timings for the storm: short locks and leases so a killed worker's jobs move on quickly. */
export const DRIVER_ENV: Record<string, string> = {
  RDS_CSI_RDS_PASSWORD: SIM_PASSWORD,
  RDS_CSI_WORKER_LOCK_MS: '3000',
  RDS_CSI_WORKER_STALLED_INTERVAL_MS: '1000',
  RDS_CSI_WORKER_LEASE_MS: '3000',
  RDS_CSI_WORKER_BACKOFF_MS: '200',
  RDS_CSI_RDS_CALL_TIMEOUT_MS: '3000',
  RDS_CSI_RDS_CONNECT_TIMEOUT_MS: '1000',
  RDS_CSI_KUBERNETES_MODE: 'off',
  RDS_CSI_NODES: NODES.join(','),
};
export const RDS_CALL_TIMEOUT_MS = Number(DRIVER_ENV.RDS_CSI_RDS_CALL_TIMEOUT_MS);

export type Role = 'controller' | 'worker';

/** The primary backend's name (`rds.backend` left at its default). */
export const PRIMARY_BACKEND = 'default';

/** One RDS of the storm: a simulator process with its own port and data dir. */
export interface SimBackend {
  /** The backend's name: PRIMARY_BACKEND for the `rds` block, else its `backends[].name`. */
  name: string;
  port: number;
  dataDir: string;
  child?: ChildProcess;
}

export interface Member {
  name: string;
  role: Role;
  /** Controller only: its CSI endpoint. */
  endpoint?: string;
  child?: ChildProcess;
  starts: number;
}

/** Every child still running: SIGKILLed when this process exits, however it exits (e.g. Ctrl-C on a soak). */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});
function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

function openLog(dir: string, name: string): WriteStream {
  return createWriteStream(path.join(dir, 'logs', `${name}.log`), { flags: 'a' });
}

/** Spawns `rds-csi <args>`, output appended to its log; resolves once `ready` shows in the output. */
function spawnLogged(args: string[], env: Record<string, string>, log: WriteStream, ready: RegExp, timeoutMs: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...TEST_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args[0]} not ready after ${timeoutMs} ms:\n${seen.slice(-4000)}`));
    }, timeoutMs);
    const onData = (b: Buffer): void => {
      log.write(b);
      if (seen.length < 65536) seen += b.toString();
      if (ready.test(seen)) {
        clearTimeout(timer);
        seen = '';
        ready.lastIndex = 0;
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      log.write(`\n--- exited code=${code} signal=${sig}\n`);
      reject(new Error(`${args[0]} exited (${code ?? sig}) before it was ready:\n${seen.slice(-4000)}`));
    });
  });
}

async function killHard(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** SIGTERM, then SIGKILL after 5 s. */
async function stopGently(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

export class ChaosCluster {
  readonly members: Member[] = [];
  redis?: RedisServer;
  redisPort = 0;
  /** The primary first, then one per extra backend. */
  readonly sims: SimBackend[];
  private readonly logs = new Map<string, WriteStream>();

  constructor(
    readonly dir: string,
    readonly extraBackends: string[] = [],
  ) {
    mkdirSync(path.join(dir, 'logs'), { recursive: true });
    mkdirSync(this.redisDir, { recursive: true });
    this.sims = [PRIMARY_BACKEND, ...extraBackends].map((name, i) => ({ name, port: 0, dataDir: path.join(dir, i === 0 ? 'rds' : `rds-${name}`) }));
  }

  sim(name: string): SimBackend {
    const s = this.sims.find((x) => x.name === name);
    if (!s) throw new Error(`no simulator for backend ${name}`);
    return s;
  }

  get simPort(): number {
    return this.sims[0].port;
  }

  get redisDir(): string {
    return path.join(this.dir, 'redis');
  }

  get simDataDir(): string {
    return this.sims[0].dataDir;
  }

  get redisUrl(): string {
    return `redis://127.0.0.1:${this.redisPort}`;
  }

  private log(name: string): WriteStream {
    let l = this.logs.get(name);
    if (!l) {
      l = openLog(this.dir, name);
      this.logs.set(name, l);
    }
    return l;
  }

  /** Redis on the fixed port and dir: a restart replays the same AOF. */
  async startRedis(): Promise<void> {
    if (!this.redisPort) this.redisPort = await freePort();
    const args = [
      '--port',
      '{port}',
      '--bind',
      '127.0.0.1',
      '--dir',
      this.redisDir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'noeviction',
    ];
    this.redis = await startRedisServer({ port: this.redisPort, args, name: 'rds-csi-chaos-redis' });
    track(this.redis.child);
  }

  async killRedis(): Promise<void> {
    // stop() is SIGKILL (and removes only its own empty temp dir; the AOF lives in redisDir).
    await this.redis?.stop();
    this.redis = undefined;
  }

  /** Every backend's simulator. */
  async startSimulators(latencyMs: number, jitterMs: number): Promise<void> {
    for (const s of this.sims) await this.startSimulator(latencyMs, jitterMs, s);
  }

  async startSimulator(latencyMs: number, jitterMs: number, sim: SimBackend = this.sims[0]): Promise<void> {
    if (!sim.port) sim.port = await freePort();
    const args = [
      'simulator',
      '--data-dir',
      sim.dataDir,
      '--port',
      String(sim.port),
      '--user',
      SIM_USER,
      '--password',
      SIM_PASSWORD,
      '--latency-ms',
      String(latencyMs),
      '--jitter-ms',
      String(jitterMs),
      '--pool-size',
      '1T',
    ];
    const name = sim === this.sims[0] ? 'simulator' : `simulator-${sim.name}`;
    sim.child = await spawnLogged(args, {}, this.log(name), /"listening"/, 20000);
    await waitForPort(sim.port, sim.child, 10000, name);
  }

  /**
   * The extra backends as the `backends` config key (JSON from the environment, src/config/schema.ts): each its own
   * simulator, the storm's user and password, and the primary's RouterOS timings.
   */
  private backendsEnv(): Record<string, string> {
    if (this.extraBackends.length === 0) return {};
    const list = this.sims.slice(1).map((s) => ({
      name: s.name,
      host: '127.0.0.1',
      port: s.port,
      user: SIM_USER,
      password: SIM_PASSWORD,
      insecurePlaintext: true,
      callTimeoutMs: Number(DRIVER_ENV.RDS_CSI_RDS_CALL_TIMEOUT_MS),
      connectTimeoutMs: Number(DRIVER_ENV.RDS_CSI_RDS_CONNECT_TIMEOUT_MS),
    }));
    return { RDS_CSI_BACKENDS: JSON.stringify(list) };
  }

  private common(): string[] {
    return [
      '--redis-url',
      this.redisUrl,
      '--rds-address',
      `127.0.0.1:${this.simPort}`,
      '--rds-user',
      SIM_USER,
      '--rds-insecure-plaintext',
      '--log-level',
      'info',
    ];
  }

  addMember(role: Role, name: string): Member {
    const m: Member = { name, role, starts: 0, endpoint: role === 'controller' ? `unix://${path.join(this.dir, `${name}.sock`)}` : undefined };
    this.members.push(m);
    return m;
  }

  async start(m: Member): Promise<void> {
    const args = m.role === 'controller' ? ['controller', '--endpoint', m.endpoint ?? '', ...this.common()] : ['worker', ...this.common()];
    const log = this.log(m.name);
    log.write(`\n--- start #${m.starts + 1} at ${new Date().toISOString()}\n`);
    m.child = await spawnLogged(
      args,
      { ...DRIVER_ENV, ...this.backendsEnv() },
      log,
      m.role === 'controller' ? /controller ready/ : /worker ready/,
      30000,
    );
    m.starts++;
    if (m.endpoint) await waitForSockets([m.endpoint], 10000);
  }

  async kill(m: Member): Promise<void> {
    await killHard(m.child);
    m.child = undefined;
  }

  alive(m: Member): boolean {
    return m.child !== undefined && m.child.exitCode === null && m.child.signalCode === null;
  }

  /** Members that died without being killed by the chaos loop (a crash). */
  crashed(): Member[] {
    return this.members.filter((m) => m.child !== undefined && !this.alive(m));
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => this.kill(m)));
    await Promise.all(this.sims.map((s) => stopGently(s.child)));
    await this.killRedis();
    for (const l of this.logs.values()) l.end();
  }
}
