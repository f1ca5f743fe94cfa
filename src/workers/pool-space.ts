/**
 * The free-space check before a `/disk add`, without a `/disk print` of the pool on every create: one reading of the
 * pool (RdsPort.poolCapacity) is shared by the adds of this worker for `ttlMs`, and the bytes of the adds this worker
 * issued since (or while) that reading was taken are subtracted locally, so a storm of creates cannot over-commit
 * the pool within the TTL. A request that does not fit is checked once more against a fresh reading (deletes may
 * have freed space) before it is refused as `exhausted` (RESOURCE_EXHAUSTED).
 *
 * What this cannot see: adds by other worker processes within the TTL. For those RouterOS itself refuses the add;
 * its trap text for "no space" was never captured from an RDS (docs/ARCHITECTURE.md RouterOS §1.11, §2.8), and
 * src/rds/trap-table.ts maps the likely texts (`not enough space`, `No space left on device`) to `exhausted` as well.
 * Whether the pool's `free` shrinks when a file disk is added (thick) or only when data is written (sparse) is
 * unknown (RouterOS §2.4); the local subtraction assumes the worst, like the check before every add did.
 */
import { Failure } from '../domain/failure';
import type { PoolCapacity } from '../rds/port';

/** A reservation of pool space for one add: settle it when the add succeeded, release it when it did not. */
export interface SpaceHold {
  settle(): void;
  release(): void;
}

interface Held {
  bytes: number;
  /** When the add completed; undefined while it is in flight. */
  settledAt?: number;
}

interface Reading {
  /** When the read was started: adds settled before then are in `freeBytes`. */
  startedAt: number;
  at: number;
  freeBytes: number;
}

export class PoolSpace {
  private reading: Reading | undefined;
  private inflight: Promise<Reading> | undefined;
  private readonly held = new Set<Held>();

  constructor(
    private readonly readPool: () => Promise<PoolCapacity>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reserves `bytes` of the pool for an add, or throws `exhausted`. */
  async reserve(bytes: number): Promise<SpaceHold> {
    const asked = this.now();
    let reading = await this.current(false);
    // Refused on a reading older than this call: look once more (a delete may have freed the space since).
    if (this.available(reading) < bytes && reading.startedAt < asked) reading = await this.current(true);
    const available = this.available(reading);
    if (available < bytes) {
      const mine = reading.freeBytes - available;
      throw new Failure(
        'exhausted',
        `RDS pool has ${available} bytes free${mine > 0 ? ` (${reading.freeBytes} minus ${mine} this worker is adding)` : ''}, ` +
          `${bytes} needed; free space on the pool or request less`,
      );
    }
    const h: Held = { bytes };
    this.held.add(h);
    return {
      settle: () => {
        h.settledAt = this.now();
      },
      release: () => {
        this.held.delete(h);
      },
    };
  }

  private available(r: Reading): number {
    let pending = 0;
    for (const h of this.held) if (h.settledAt === undefined || h.settledAt >= r.startedAt) pending += h.bytes;
    return r.freeBytes - pending;
  }

  /** The cached reading while it is younger than the TTL (or `fresh`: a new one); concurrent callers share one read. */
  private async current(fresh: boolean): Promise<Reading> {
    const r = this.reading;
    if (!fresh && r && this.now() - r.at < this.ttlMs) return r;
    this.inflight ??= this.read().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async read(): Promise<Reading> {
    const startedAt = this.now();
    const pool = await this.readPool();
    const reading: Reading = { startedAt, at: this.now(), freeBytes: pool.freeBytes };
    this.reading = reading;
    // Adds that completed before this reading started are in it now.
    for (const h of this.held) if (h.settledAt !== undefined && h.settledAt < startedAt) this.held.delete(h);
    return reading;
  }
}
