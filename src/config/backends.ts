import { readFileSync } from 'node:fs';
import { ConfigError } from './error';
import type { Config, RdsConfig } from './schema';

/**
 * The RDS backends of one driver (issue 16): the primary (`rds`, named `rds.backend`) first, then `backends` in the
 * order given. Every process that talks to RDS builds its connections from this list (src/rds/backends.ts); a
 * single-RDS configuration is the list of one, so nothing changes for it.
 */
export interface BackendConfig {
  /** The topology value and the id mark of this RDS (src/domain/topology.ts, src/domain/backend-id.ts). */
  name: string;
  /** The primary's volume ids carry no backend name (they keep the form they had before there were backends). */
  primary: boolean;
  /** RouterOS and NVMe/TCP settings; `rds.backend` is the name and the password is read from passwordFile if set. */
  rds: RdsConfig;
  zone?: string;
  /**
   * Per-worker limit of this backend's jobs running at once, as configured. Unset: the worker's concurrency with a
   * single backend, half of it (rounded up) with several (src/workers/backend-set.ts, backendJobLimit).
   */
  concurrency?: number;
}

/** Names are unique: a volume id names its backend, and two RDS under one name would make that ambiguous. */
export function checkBackendNames(cfg: Config): void {
  const seen = new Set([cfg.rds.backend]);
  for (const [i, b] of cfg.backends.entries()) {
    if (seen.has(b.name)) {
      throw new ConfigError(
        `invalid configuration: backends[${i}].name "${b.name}" is already used ` +
          `(${b.name === cfg.rds.backend ? 'by the primary backend, rds.backend' : 'by an earlier entry'}): every RDS backend needs its own name`,
      );
    }
    seen.add(b.name);
  }
}

function readPassword(file: string, name: string): string {
  try {
    // A Secret's file may end with the newline of `echo`; a RouterOS password never does.
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(`backend ${name}: cannot read passwordFile ${file}: ${(err as Error).message}`);
  }
}

/** Every backend of `cfg`, the primary first; reads each extra backend's passwordFile. */
export function backendsOf(cfg: Pick<Config, 'rds' | 'backends' | 'primaryBackend'>): BackendConfig[] {
  const primary: BackendConfig = {
    name: cfg.rds.backend,
    primary: true,
    rds: cfg.rds,
    zone: cfg.primaryBackend.zone,
    concurrency: cfg.primaryBackend.concurrency,
  };
  return [
    primary,
    ...cfg.backends.map(({ name, passwordFile, zone, concurrency, ...rds }) => ({
      name,
      primary: false,
      rds: { ...rds, backend: name, password: passwordFile ? readPassword(passwordFile, name) : rds.password },
      zone,
      concurrency,
    })),
  ];
}
