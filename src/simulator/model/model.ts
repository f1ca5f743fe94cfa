/**
 * The simulated router's state: pool, disk records, `/file` IDs, one lock for every model operation, and the
 * `copy-from` copies in flight (which run outside the lock, see disks.ts).
 */
import { promises as fsp } from 'node:fs';
import { TrapError } from '../errors';
import type { SimulatorMessages } from '../messages';
import { Mutex } from '../util/mutex';
import { Pool } from './pool';
import { StateStore, type DiskRecord, type SimState } from './state';

export const POOL_ID = '*1';

/** Snapshot of one file disk for test assertions. */
export type SimDisk = Omit<DiskRecord, 'nvmeTcpServerNqn' | 'iscsiServerIqn'> & {
  nvmeTcpServerNqn: string;
  iscsiServerIqn: string;
  /** Backing file on the host. */
  hostPath: string;
};

/** A `copy-from` copy in flight: its slot and file are reserved, its disk item does not exist yet. */
export interface CopyReservation {
  slot: string;
  /** Destination, RouterOS path. */
  filePath: string;
  /** `.id` of the source disk (which cannot be removed meanwhile). */
  sourceId: string;
  /** Size of the new disk. */
  size: number;
  /** Allocated bytes of the source when the copy started: what the copy moves, and what its duration follows. */
  allocatedBytes: number;
  startedAt: Date;
}

export function hexId(n: number): string {
  return `*${n.toString(16).toUpperCase()}`;
}

export function nqnOf(d: DiskRecord): string {
  return d.nvmeTcpServerNqn ?? d.slot;
}

export function iqnOf(d: DiskRecord): string {
  return d.iscsiServerIqn ?? `iqn.2000-02.com.mikrotik:${d.slot}`;
}

export class SimModel {
  readonly lock = new Mutex();
  /** Copies in flight by destination path. Changed only under the lock. */
  readonly copies = new Map<string, CopyReservation>();
  /** Bytes per second of `copy-from` (0 = unthrottled); wired to the fault settings. */
  copyBytesPerSecond: () => number = () => 0;
  private readonly closing = new AbortController();
  private readonly background = new Set<Promise<unknown>>();

  private constructor(
    readonly pool: Pool,
    private readonly store: StateStore,
    public state: SimState,
    readonly messages: SimulatorMessages,
    readonly poolFs: string,
  ) {}

  static async open(pool: Pool, messages: SimulatorMessages, poolFs: string): Promise<SimModel> {
    await pool.init();
    const store = new StateStore(pool.dataDir);
    const model = new SimModel(pool, store, await store.load(), messages, poolFs);
    await model.dropPendingCopies();
    return model;
  }

  /** Deletes the partial destinations a previous run left behind (it stopped while copying). */
  private async dropPendingCopies(): Promise<void> {
    if (this.state.pendingCopies.length === 0) return;
    for (const p of this.state.pendingCopies) await fsp.rm(this.pool.hostPath(p), { force: true });
    this.state.pendingCopies = [];
    await this.persist();
  }

  /** Aborts when the simulator closes: copies in flight give up. */
  get closeSignal(): AbortSignal {
    return this.closing.signal;
  }

  /** Runs work that must finish (or give up through closeSignal) before close() returns, whoever waits for it. */
  track<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.background.add(settled);
    void settled.then(() => this.background.delete(settled));
    return work;
  }

  /** Abandons the copies in flight and waits until they cleaned up. */
  async close(): Promise<void> {
    this.closing.abort(new Error('simulator closing'));
    await Promise.all([...this.background]);
  }

  /** Called (under the lock) after every saved change, e.g. to export disks through nvmet; must not throw. */
  afterChange?: () => Promise<void>;

  /** Saves the state; every model change goes through here, so it also drops the cached pool capacity. */
  async persist(): Promise<void> {
    this.pool.invalidate();
    await this.store.save(this.state);
    await this.afterChange?.();
  }

  flush(): Promise<void> {
    return this.store.flush();
  }

  allocateDiskId(): string {
    return hexId(this.state.nextDiskId++);
  }

  /**
   * Resolves `=.id=` / `=numbers=`: a comma-separated list of `*ID`s or slot names. The pool item resolves to
   * the string POOL_ID. Any unknown entry traps `no such item`.
   */
  resolveDisks(ref: string | undefined): Array<DiskRecord | typeof POOL_ID> {
    if (ref === undefined || ref === '') throw new TrapError(`${this.messages.missingArgument} .id`, 1);
    return ref.split(',').map((r) => {
      const key = r.trim();
      if (key.toUpperCase() === POOL_ID || key === this.pool.name) return POOL_ID;
      const d = this.state.disks.find((x) => x.id.toUpperCase() === key.toUpperCase() || x.slot === key);
      if (!d) throw new TrapError(this.messages.noSuchItem, 0);
      return d;
    });
  }

  snapshot(): SimDisk[] {
    return this.state.disks.map((d) => ({
      ...d,
      nvmeTcpServerNqn: nqnOf(d),
      iscsiServerIqn: iqnOf(d),
      hostPath: this.pool.hostPath(d.filePath),
    }));
  }
}
