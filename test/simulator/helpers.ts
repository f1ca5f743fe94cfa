/** Starts a simulator on an ephemeral port in a fresh temp dir, plus a logged-in raw client. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator';
import { WireClient } from '../support/wire-client';
import { removeDirSafely } from '../../src/host/safe-remove';

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

export interface SimHarness {
  sim: RunningSimulator;
  dir: string;
  clients: WireClient[];
  client(login?: boolean): Promise<WireClient>;
  stop(keepDir?: boolean): Promise<void>;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'rds-sim-'));
}

export async function startHarness(opts: Partial<SimulatorOptions> = {}): Promise<SimHarness> {
  const dir = opts.dataDir ?? tempDir();
  const sim = await startSimulator({ port: 0, poolSizeBytes: 100 * GiB, ...opts, dataDir: dir });
  const clients: WireClient[] = [];
  return {
    sim,
    dir,
    clients,
    client: async (login = true) => {
      const c = await WireClient.connect(sim.port);
      clients.push(c);
      if (login) await c.login(opts.user ?? 'admin', opts.password ?? '');
      return c;
    },
    stop: async (keepDir = false) => {
      for (const c of clients) c.close();
      await sim.close();
      if (!keepDir) removeDirSafely(dir);
    },
  };
}
