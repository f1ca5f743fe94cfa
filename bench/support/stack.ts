import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { BenchCsiClient } from './csi';
import { memoryOf, spawnCli, type Child, type Memory } from './procs';
import { freePort } from './redis';
import { forkIpc, type IpcChild } from './ipc-child';
import { startSimProcess, type SimProcess } from './sim-process';
import { sleep } from './stats';

/**
 * One driver stack for a benchmark part: the RouterOS simulator in its own process (sim-process.ts), and the
 * controller and the worker as child processes of the real CLI (`rds-csi controller` / `rds-csi worker`), or the
 * controller alone with `--with-worker`.
 */

export const SIM_USER = 'admin';
export const SIM_PASSWORD = 'bench-secret';

/**
 * separate-worker: `rds-csi controller` + `rds-csi worker`; in-process-worker: `rds-csi controller --with-worker`;
 * ideal-rds-worker: `rds-csi controller` + a worker process running the real startWorker() against the ideal RDS
 * (ideal-rds.ts) instead of the simulator.
 */
export type Topology = 'separate-worker' | 'in-process-worker' | 'ideal-rds-worker';

export interface StackOptions {
  dir: string;
  redisUrl: string;
  latencyMs: number;
  concurrency: number;
  topology: Topology;
  /** NODE_OPTIONS of the controller and worker processes (e.g. the chart's, support/node-options.ts); none by default. */
  nodeOptions?: string;
}

export interface Stack {
  dir: string;
  sim: SimProcess;
  socketPath: string;
  client: BenchCsiClient;
  controller: Child;
  worker?: Child;
  /** /metrics of the process that runs the jobs (the worker, or the controller with --with-worker). */
  jobMetricsPort: number;
  controllerMetricsPort: number;
  /** The processes whose CPU time is counted: controller, worker (if separate). */
  children: Child[];
  memory(): { controller: Memory; worker?: Memory };
  /** Throws with the child's output if a child died. */
  assertAlive(): void;
  /** RouterOS commands the jobs made: the simulator's counters, or the ideal RDS's. */
  commands(): Promise<Record<string, number>>;
  /** Ideal RDS only: total time its commands really took so far, ms. */
  idealElapsedMs?(): Promise<number>;
  stop(): Promise<void>;
}

export async function startSim(dir: string, latencyMs: number): Promise<SimProcess> {
  mkdirSync(dir, { recursive: true });
  return startSimProcess(path.join(dir, 'rds'), SIM_USER, SIM_PASSWORD, latencyMs, dir);
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const sim = await startSim(o.dir, o.latencyMs);
  const socketPath = path.join(o.dir, 'controller.sock');
  const common = [
    '--redis-url',
    o.redisUrl,
    '--rds-address',
    `127.0.0.1:${sim.port}`,
    '--rds-user',
    SIM_USER,
    '--rds-insecure-plaintext',
    '--log-level',
    'warn',
  ];
  const env = {
    RDS_CSI_RDS_PASSWORD: SIM_PASSWORD,
    RDS_CSI_WORKER_CONCURRENCY: String(o.concurrency),
    BENCH_LOOP_PROBE_DIR: o.dir,
    ...(o.nodeOptions ? { NODE_OPTIONS: o.nodeOptions } : {}),
  };
  const children: Child[] = [];
  let client: BenchCsiClient | undefined;
  try {
    let worker: Child | undefined;
    const controllerMetricsPort = await freePort();
    let jobMetricsPort = controllerMetricsPort;
    let ideal: IpcChild | undefined;
    if (o.topology === 'separate-worker') {
      jobMetricsPort = await freePort();
      worker = spawnCli('worker', ['worker', ...common, '--http-listen', `127.0.0.1:${jobMetricsPort}`], env);
      children.push(worker);
    } else if (o.topology === 'ideal-rds-worker') {
      jobMetricsPort = await freePort();
      ideal = (await forkIpc('ideal-worker', [o.redisUrl, String(o.concurrency), String(o.latencyMs), `127.0.0.1:${jobMetricsPort}`], o.dir)).child;
      const ic = ideal;
      worker = { name: 'worker', pid: ic.pid, output: () => ic.output(), exited: () => ic.exited(), stop: () => ic.close() };
      children.push(worker);
    }
    const ctlArgs = ['controller', ...common, '--endpoint', `unix://${socketPath}`, '--http-listen', `127.0.0.1:${controllerMetricsPort}`];
    if (o.topology === 'in-process-worker') ctlArgs.push('--with-worker');
    const controller = spawnCli('controller', ctlArgs, env);
    children.push(controller);
    client = new BenchCsiClient(socketPath);
    const assertAlive = (): void => {
      for (const c of children) {
        if (c.exited()) throw new Error(`${c.name} (pid ${c.pid}) exited; its output:\n${c.output()}`);
      }
    };
    await waitReady(client, assertAlive, 20000);
    const cl = client;
    return {
      dir: o.dir,
      sim,
      socketPath,
      client: cl,
      controller,
      worker,
      jobMetricsPort,
      controllerMetricsPort,
      children,
      memory: () => ({ controller: memoryOf(controller.pid), worker: worker ? memoryOf(worker.pid) : undefined }),
      assertAlive,
      commands: async () => (ideal ? ((await ideal.request('stats')) as Record<string, number>) : sim.stats()),
      idealElapsedMs: ideal ? async () => (await ideal.request('elapsed')) as number : undefined,
      stop: async () => {
        cl.close();
        await Promise.all(children.map((c) => c.stop()));
        await sim.close();
      },
    };
  } catch (err) {
    client?.close();
    await Promise.all(children.map((c) => c.stop()));
    await sim.close();
    throw err;
  }
}

/** The controller answers gRPC (GetPluginInfo has no side effects on Redis or RDS). */
async function waitReady(client: BenchCsiClient, assertAlive: () => void, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    assertAlive();
    try {
      await client.pluginInfo(500);
      return;
    } catch (err) {
      if (Date.now() > until) throw new Error(`controller not ready within ${timeoutMs} ms: ${(err as Error).message}`, { cause: err });
      await sleep(50);
    }
  }
}

/** RouterOS commands in `after` minus `before`, without logins and simulator admin commands. */
export function commandDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): { total: number; byCommand: Record<string, number>; logins: number } {
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [cmd, n] of Object.entries(after)) {
    const d = n - (before[cmd] ?? 0);
    if (d === 0 || cmd === '/login' || cmd.startsWith('/simulator/')) continue;
    byCommand[cmd] = d;
    total += d;
  }
  return { total, byCommand, logins: (after['/login'] ?? 0) - (before['/login'] ?? 0) };
}
