/**
 * All-in-one with several embedded simulators (issue 16 item 5): the first simulator is the primary RDS (`rds`,
 * named `rds.backend`), every further one an extra backend in `backends` (src/config/backends.ts), named rds-b,
 * rds-c, … in start order. The node plugin is told every backend's NVMe/TCP address (node.backends) without a
 * reachability check: the simulators serve no NVMe/TCP (the loop connector attaches their backing files), and every
 * backend is on this one machine.
 */
import { ConfigError } from '../config/error';
import { extraBackendSchema, type Config, type ExtraBackendConfig, type RdsConfig } from '../config/schema';
import type { RunningSimulator } from '../simulator';

/** At most this many embedded simulators (the primary and rds-b … rds-h). */
export const MAX_SIMULATORS = 8;

/** The backend names of simulators 2..n; refuses a count out of range or a name the configuration already uses. */
export function extraSimulatorNames(base: Pick<Config, 'rds' | 'backends'>, simulators: number, externalRds: boolean): string[] {
  if (!Number.isInteger(simulators) || simulators < 1 || simulators > MAX_SIMULATORS) {
    throw new ConfigError(`--simulators must be an integer from 1 to ${MAX_SIMULATORS}, got ${simulators}`);
  }
  if (simulators > 1 && externalRds) {
    throw new ConfigError('--simulators starts embedded simulators: it cannot be combined with --rds-address');
  }
  const names = Array.from({ length: simulators - 1 }, (_, i) => `rds-${String.fromCharCode(98 + i)}`);
  const taken = new Set([base.rds.backend, ...base.backends.map((b) => b.name)]);
  const clash = names.find((n) => taken.has(n));
  if (clash) {
    throw new ConfigError(`--simulators names its extra backends ${names.join(', ')}, but "${clash}" is already a backend of the configuration`);
  }
  return names;
}

/** Where the simulator of extra backend `name` keeps its data when the primary's is `dataDir` (a sibling). */
export function simulatorDataDir(dataDir: string, name: string): string {
  return `${dataDir.replace(/\/+$/, '')}-${name}`;
}

/** The `backends` entries of the extra simulators: the primary's settings, with each simulator's address. */
export function extraSimulatorBackends(primary: RdsConfig, sims: ReadonlyArray<{ name: string; simulator: RunningSimulator }>): ExtraBackendConfig[] {
  // The schema drops `backend` (the primary's name) and checks the entry as loadConfig would.
  return sims.map(({ name, simulator }) =>
    extraBackendSchema.parse({
      ...primary,
      name,
      host: simulator.host,
      port: simulator.port,
      tls: false,
      caFile: undefined,
      tlsServerName: undefined,
      exportAddress: undefined,
    }),
  );
}

/**
 * node.backends (`name=host:port`, comma-separated) naming every backend of `cfg`, with node.backendReachMs 0 (report
 * every one, no connect check); nothing when there is only the primary (the node reports its segment as before).
 */
export function nodeBackendsOf(
  cfg: Pick<Config, 'rds' | 'backends'>,
  several: boolean,
): { backends: string; backendReachMs: number } | Record<string, never> {
  if (!several) return {};
  const target = (name: string, r: Pick<RdsConfig, 'host' | 'exportAddress' | 'exportPort'>): string =>
    `${name}=${r.exportAddress ?? r.host}:${r.exportPort}`;
  return {
    backends: [target(cfg.rds.backend, cfg.rds), ...cfg.backends.map((b) => target(b.name, b))].join(','),
    backendReachMs: 0,
  };
}
