import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { LOOP_PROBE } from './procs';

/**
 * A bench helper process (forked from dist/bench/support/<entry>.js) spoken to over IPC: it sends one message
 * with `ready` when it serves, then answers `{ id, op, ... }` requests with `{ id, result }` or `{ id, error }`.
 * `close` asks it to shut down cleanly (SIGKILL after 5 s). It exits by itself when the bench process goes away.
 */
export interface IpcChild {
  pid: number;
  request(op: string, extra?: Record<string, unknown>): Promise<unknown>;
  exited(): boolean;
  output(): string;
  close(): Promise<void>;
}

interface Reply {
  id?: number;
  ready?: unknown;
  result?: unknown;
  error?: string;
}

export async function forkIpc(entry: string, args: string[], probeDir: string): Promise<{ child: IpcChild; ready: unknown }> {
  const proc: ChildProcess = fork(path.join(__dirname, `${entry}.js`), args, {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    // BENCH_CPU_PROF_DIR: a V8 CPU profile of the helper too (as spawnCli does for the CLI children).
    execArgv: [...(process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF_DIR] : []), '--require', LOOP_PROBE],
    env: { ...process.env, BENCH_LOOP_PROBE_DIR: probeDir },
  });
  let stderr = '';
  proc.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString('utf8')).slice(-8192)));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const exit = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const gone = (): boolean => proc.exitCode !== null || proc.signalCode !== null;
  const ready = await new Promise<unknown>((resolve, reject) => {
    proc.on('message', (m: Reply) => {
      if (m.ready !== undefined) return resolve(m.ready);
      const p = m.id === undefined ? undefined : pending.get(m.id);
      if (!p || m.id === undefined) return;
      pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.result);
    });
    proc.once('exit', (code, signal) => {
      const err = new Error(`${entry} exited (${code ?? signal}): ${stderr}`);
      reject(err);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
    });
  });
  const request = (op: string, extra: Record<string, unknown> = {}): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (gone()) return reject(new Error(`${entry} has exited: ${stderr}`));
      const id = nextId++;
      pending.set(id, { resolve, reject });
      proc.send({ ...extra, id, op });
    });
  return {
    ready,
    child: {
      pid: proc.pid ?? -1,
      request,
      exited: gone,
      output: () => stderr,
      close: async () => {
        if (gone()) return;
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        try {
          await request('close');
        } catch {
          proc.kill('SIGKILL');
        }
        await exit;
        clearTimeout(timer);
      },
    },
  };
}
