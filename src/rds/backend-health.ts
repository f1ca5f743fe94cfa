import type { BackendPool, ScrapeSources } from '../metrics/registry';
import type { RdsBackends } from './backends';
import type { PoolCapacity } from './port';
import { sharedResult } from './shared-result';

/** Whether one backend's RDS answered a ping; `error` says why not. */
export interface BackendStatus {
  name: string;
  up: boolean;
  error?: string;
}

/** Structurally the Identity service's ReadinessCheck (src/grpc/identity.ts), which this layer may not import. */
export interface BackendsReadiness {
  name: string;
  check(): Promise<{ down: string[] } | undefined>;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Pings every backend at once; one slow or dead RDS costs its own call timeout, never another's. */
async function pingAll(pings: ReadonlyArray<{ name: string; ping: () => Promise<void> }>): Promise<BackendStatus[]> {
  return Promise.all(
    pings.map(({ name, ping }) =>
      ping().then(
        (): BackendStatus => ({ name, up: true }),
        (err: unknown): BackendStatus => ({ name, up: false, error: message(err) }),
      ),
    ),
  );
}

/**
 * The health of every RDS backend (issue 16 item 4): the controller is ready while at least one backend answers, and
 * names the ones that do not. The CSI Probe asks live (`readiness()`); /healthz and the gauges read each backend's
 * ping and pool through a cache of rds.statusCacheMs per backend (sharedResult), so a scraper, however fast, makes at
 * most one RouterOS call per backend per `ttlMs`.
 */
export class BackendHealth {
  private readonly cachedPings: Array<{ name: string; ping: () => Promise<void> }>;
  private readonly cachedPools: ReadonlyMap<string, () => Promise<PoolCapacity>>;

  constructor(
    private readonly backends: RdsBackends,
    ttlMs: (name: string) => number,
  ) {
    this.cachedPings = backends.list.map((b) => ({ name: b.name, ping: sharedResult(() => b.rds.ping(), ttlMs(b.name)) }));
    this.cachedPools = new Map(backends.list.map((b) => [b.name, sharedResult(() => b.rds.poolCapacity(), ttlMs(b.name))]));
  }

  /** Every backend with its own rds.statusCacheMs (the primary's `rds`, each extra backend's entry in `backends`). */
  static fromBackends(backends: RdsBackends): BackendHealth {
    return new BackendHealth(backends, (name) => backends.get(name)?.config.rds.statusCacheMs ?? 0);
  }

  /** A live ping of every backend (the CSI Probe). */
  live(): Promise<BackendStatus[]> {
    return pingAll(this.backends.list.map((b) => ({ name: b.name, ping: () => b.rds.ping() })));
  }

  /** Each backend's cached ping (/healthz, rds_csi_rds_backend_up). */
  cached(): Promise<BackendStatus[]> {
    return pingAll(this.cachedPings);
  }

  /** One backend's pool reading through its cache (the pool gauge; VolumeHealth and GetCapacity may share it). */
  pool(name: string): () => Promise<PoolCapacity> {
    const p = this.cachedPools.get(name);
    if (!p) throw new Error(`no RDS backend named ${name}`);
    return p;
  }

  /** Every backend's pool; a backend whose reading failed is left out (its gauge stays as it was). */
  async pools(): Promise<BackendPool[]> {
    const readings = await Promise.all(
      [...this.cachedPools].map(([backend, read]) =>
        read().then(
          (p): BackendPool => ({ backend, sizeBytes: p.sizeBytes, freeBytes: p.freeBytes }),
          () => undefined,
        ),
      ),
    );
    return readings.filter((r): r is BackendPool => r !== undefined);
  }

  /** The scrape-time sources this gives the process's Metrics: rds_csi_pool_bytes and rds_csi_rds_backend_up. */
  scrapeSources(): Required<Pick<ScrapeSources, 'pools' | 'backendsUp'>> {
    return {
      pools: () => this.pools(),
      backendsUp: async () => (await this.cached()).map((s) => ({ backend: s.name, up: s.up })),
    };
  }

  /**
   * The readiness check over all backends (live pings by default, `cached` for /healthz): throws, naming every
   * backend and why, when none answers; resolves with the names of those down while at least one answers.
   */
  readiness(mode: 'live' | 'cached' = 'live'): BackendsReadiness {
    return {
      name: 'rds',
      check: async () => {
        const statuses = await (mode === 'live' ? this.live() : this.cached());
        return readinessOf(statuses);
      },
    };
  }
}

/** Ready while at least one backend is up: undefined when all are, `{ down }` when some are not; throws when none is. */
export function readinessOf(statuses: readonly BackendStatus[]): { down: string[] } | undefined {
  const down = statuses.filter((s) => !s.up);
  if (down.length === statuses.length) {
    throw new Error(`no RDS backend answers: ${down.map((s) => `${s.name} (${s.error ?? 'down'})`).join(', ')}`);
  }
  return down.length ? { down: down.map((s) => s.name) } : undefined;
}
