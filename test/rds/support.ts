/** Shared setup for the RDS port integration tests: a real simulator over TCP and a RouterOsRds talking to it. */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { RouterOsRds, type RouterOsRdsOptions } from '../../src/rds';
import { removeDirSafely } from '../../src/host/safe-remove';

export interface Harness {
  sim: RunningSimulator;
  rds: RouterOsRds;
  dir: string;
  make(extra?: Partial<RouterOsRdsOptions>): RouterOsRds;
  stop(): Promise<void>;
}

export const GiB = 1024 ** 3;

export async function startHarness(extra: Partial<RouterOsRdsOptions> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'rds-port-'));
  const sim = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    dataDir: dir,
    poolName: 'pool',
    poolSizeBytes: 100 * GiB,
    user: 'admin',
    password: 'secret',
  });
  const made: RouterOsRds[] = [];
  const make = (more: Partial<RouterOsRdsOptions> = {}): RouterOsRds => {
    const rds = new RouterOsRds({
      host: '127.0.0.1',
      port: sim.port,
      user: 'admin',
      password: 'secret',
      poolName: 'pool',
      connectTimeoutMs: 1000,
      callTimeoutMs: 2000,
      backoffBaseMs: 20,
      backoffMaxMs: 200,
      ...extra,
      ...more,
    });
    made.push(rds);
    return rds;
  };
  const rds = make();
  return {
    sim,
    rds,
    dir,
    make,
    stop: async () => {
      await Promise.all(made.map((r) => r.close()));
      await sim.close();
      removeDirSafely(dir);
    },
  };
}
