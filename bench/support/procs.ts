import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { LoopReport } from './loop-probe';

/**
 * The rds-csi binary (dist/src/cli/main.js) run as child processes, as in production: one process per role.
 * Output is kept (last 64 KiB) so a crash can be reported; every child is killed on stop and, as a last resort,
 * when the bench process exits.
 */

const CLI = path.resolve(__dirname, '../../src/cli/main.js');
/** Preload that reports the child's event loop (loop-probe.ts). */
export const LOOP_PROBE = path.join(__dirname, 'loop-probe.js');
const KEEP = 64 * 1024;
const live = new Set<ChildProcess>();

process.on('exit', () => {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

/** Kills `child` (SIGKILL) if it is still running when the bench process exits, however it exits. */
export function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

export interface Child {
  name: string;
  pid: number;
  /** stdout + stderr so far (tail). */
  output(): string;
  exited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Environment without any RDS_CSI_* of the caller, plus `extra`. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RDS_CSI_')) env[k] = v;
  return { ...env, ...extra };
}

export function spawnCli(name: string, args: string[], env: Record<string, string>): Child {
  // BENCH_CPU_PROF_DIR: a V8 CPU profile of each CLI child (written when it exits), to see where its time goes.
  const prof = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF_DIR] : [];
  const child = spawn(process.execPath, [...prof, '--require', LOOP_PROBE, CLI, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  const keep = (b: Buffer): void => {
    out += b.toString('utf8');
    if (out.length > KEEP) out = out.slice(-KEEP);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child);
      resolve();
    });
  });
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  return {
    name,
    pid: child.pid ?? -1,
    output: () => out,
    exited: gone,
    stop: async (graceMs = 5000) => {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}

export interface Memory {
  /** Resident set size now, bytes. */
  rssBytes: number;
  /** Peak resident set size of the process so far (VmHWM), bytes. */
  peakRssBytes: number;
}

/** VmRSS / VmHWM from /proc/<pid>/status (Linux). */
export function memoryOf(pid: number): Memory {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]) * 1024;
  };
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

/** User + system CPU seconds of a process so far, from /proc/<pid>/stat (clock ticks of 1/100 s on Linux). */
export function cpuSecondsOf(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / 100;
}

/**
 * Event-loop reports of processes running loop-probe.js: the first call starts a window, the second ends it and
 * returns what each process saw in between.
 */
export async function loopReports(pids: Record<string, number>, dir: string): Promise<Record<string, LoopReport>> {
  for (const pid of Object.values(pids)) process.kill(pid, 'SIGUSR2');
  const out: Record<string, LoopReport> = {};
  const until = Date.now() + 2000;
  for (const [name, pid] of Object.entries(pids)) {
    const file = path.join(dir, `${pid}.json`);
    for (;;) {
      try {
        const r = JSON.parse(readFileSync(file, 'utf8')) as LoopReport;
        rmSync(file);
        out[name] = r;
        break;
      } catch {
        if (Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
  return out;
}
