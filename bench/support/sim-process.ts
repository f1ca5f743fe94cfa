import { forkIpc } from './ipc-child';
import type { LockStats } from './sim-child';

/**
 * The RouterOS simulator (src/simulator startSimulator) in its own process (sim-child.ts). The worker and the
 * direct baseline then both reach it over loopback from another process, and it does not share an event loop with
 * the bench's gRPC client. stats() are the simulator's own per-command counters.
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
  const { child, ready } = await forkIpc('sim-child', [dataDir, user, password, String(latencyMs)], probeDir);
  return {
    port: (ready as { port: number }).port,
    pid: child.pid,
    stats: async () => (await child.request('stats')) as Record<string, number>,
    setLatency: async (ms) => void (await child.request('latency', { latencyMs: ms })),
    lockStats: async () => (await child.request('lock')) as LockStats,
    close: () => child.close(),
  };
}
