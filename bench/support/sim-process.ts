import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { LOOP_PROBE } from './procs';
import type { LockStats, SimReply, SimRequest } from './sim-child';

/**
 * The RouterOS simulator (src/simulator startSimulator) in its own process. The worker and the direct baseline
 * then both reach it over loopback from another process, and it does not share an event loop with the bench's
 * gRPC client. stats() are the simulator's own per-command counters.
 */
export interface SimProcess {
  port: number;
  pid: number;
  stats(): Promise<Record<string, number>>;
  setLatency(ms: number): Promise<void>;
  /** The simulator's model lock since the previous call (the first call starts the window). */
  lockStats(): Promise<LockStats>;
  close(): Promise<void>;
}

/** `probeDir`: where its loop-probe.js reports go (see procs.ts loopReports). */
export async function startSimProcess(dataDir: string, user: string, password: string, latencyMs: number, probeDir: string): Promise<SimProcess> {
  const child: ChildProcess = fork(path.join(__dirname, 'sim-child.js'), [dataDir, user, password, String(latencyMs)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    execArgv: ['--require', LOOP_PROBE],
    env: { ...process.env, BENCH_LOOP_PROBE_DIR: probeDir },
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString('utf8')).slice(-8192)));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: SimReply) => {
      if (m.ready) return resolve(m.ready.port);
      const p = m.id === undefined ? undefined : pending.get(m.id);
      if (!p || m.id === undefined) return;
      pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.result);
    });
    child.once('exit', (code) => {
      reject(new Error(`simulator process exited (${code}): ${stderr}`));
      for (const p of pending.values()) p.reject(new Error(`simulator process exited (${code}): ${stderr}`));
      pending.clear();
    });
  });
  const request = (req: Omit<SimRequest, 'id'>): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ ...req, id } satisfies SimRequest);
    });
  return {
    port,
    pid: child.pid ?? -1,
    stats: async () => (await request({ op: 'stats' })) as Record<string, number>,
    lockStats: async () => (await request({ op: 'lock' })) as LockStats,
    setLatency: async (ms) => void (await request({ op: 'latency', latencyMs: ms })),
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      try {
        await request({ op: 'close' });
      } catch {
        child.kill('SIGKILL');
      }
      await exited;
      clearTimeout(timer);
    },
  };
}
