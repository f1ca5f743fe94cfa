import { backendsOf, type BackendConfig } from '../config/backends';
import type { Config } from '../config/schema';
import { splitId } from '../domain/backend-id';
import type { Metrics } from '../metrics/registry';
import { rdsFromConfig } from './factory';
import type { RdsPort } from './port';

/**
 * Every RDS this driver uses (issue 16), each with its own RouterOS connection and circuit breaker, so one slow or
 * dead RDS never holds up calls to another. Looked up by name, or by a CSI id (src/domain/backend-id.ts).
 */
export interface Backend {
  readonly name: string;
  readonly primary: boolean;
  readonly config: BackendConfig;
  readonly rds: RdsPort;
  /** Where nodes connect for NVMe/TCP (the publish context's targetAddress and targetPort). */
  readonly target: { address: string; port: number };
}

export class RdsBackends {
  private readonly byName: ReadonlyMap<string, Backend>;

  constructor(readonly list: readonly Backend[]) {
    if (!list.length || !list[0].primary) throw new Error('RdsBackends: the primary backend comes first');
    this.byName = new Map(list.map((b) => [b.name, b]));
  }

  get primary(): Backend {
    return this.list[0];
  }

  names(): string[] {
    return this.list.map((b) => b.name);
  }

  get(name: string): Backend | undefined {
    return this.byName.get(name);
  }

  /** The backend a CSI id names; undefined for a malformed id or a backend this configuration does not have. */
  forId(id: string): Backend | undefined {
    const placed = splitId(id);
    if (!placed) return undefined;
    return placed.backend === undefined ? this.primary : this.byName.get(placed.backend);
  }

  async close(): Promise<void> {
    await Promise.all(this.list.map((b) => b.rds.close().catch(() => undefined)));
  }
}

export function targetOf(c: BackendConfig): { address: string; port: number } {
  return { address: c.rds.exportAddress ?? c.rds.host, port: c.rds.exportPort };
}

/** One backend per configured RDS, the primary first; `make` builds each RDS port (rdsFromConfig unless given). */
export function backendsFromConfig(
  cfg: Pick<Config, 'rds' | 'backends' | 'primaryBackend'>,
  metrics?: Metrics,
  make: (c: BackendConfig) => RdsPort = (c) => rdsFromConfig(c.rds, metrics),
): RdsBackends {
  return new RdsBackends(backendsOf(cfg).map((c) => ({ name: c.name, primary: c.primary, config: c, rds: make(c), target: targetOf(c) })));
}
