/** The simulated router's state: pool, disk records, `/file` IDs, one lock for every model operation. */
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
    return new SimModel(pool, store, await store.load(), messages, poolFs);
  }

  /** Saves the state; every model change goes through here, so it also drops the cached pool capacity. */
  persist(): Promise<void> {
    this.pool.invalidate();
    return this.store.save(this.state);
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
