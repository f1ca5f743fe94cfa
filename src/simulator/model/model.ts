/**
 * The simulated router's state: pool, disk records (indexed, disk-index.ts), `/file` IDs (indexed both ways), one
 * lock for every model operation, and the `copy-from` copies in flight (which run outside the lock, see disks.ts).
 *
 * The lock covers the model change only. Persisting it (the state file, then `afterChange`, e.g. nvmet) is a
 * coalesced write-behind outside the lock: `changed()` schedules it, `update()` runs a change under the lock and
 * then, with the lock released, waits until a write that includes the change has finished, so a reply still goes
 * out only once its change is on disk.
 */
import { promises as fsp } from 'node:fs';
import { TrapError } from '../errors';
import type { SimulatorMessages } from '../messages';
import { Mutex } from '../util/mutex';
import { DiskIndex } from './disk-index';
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

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
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
  /** The disks of `state.disks`, indexed; every change of that list goes through it. */
  readonly disks: DiskIndex;
  /** `/file` item ID → name: the reverse of `state.fileIds`, changed only through setFileId/dropFileId. */
  private readonly fileNames = new Map<string, string>();
  /** Rows built by prints (before their query filters them): what a print costs, for tests. */
  rowsBuilt = 0;
  /**
   * Whether the pool's file system is mounted (an admin switch: `/simulator/pool/set =mounted=no`). Unmounted, the
   * pool row has no `mount-point`, `free` or `use` (RouterOS prints those only on items with a mounted file system:
   * docs/ARCHITECTURE.md RouterOS §2.2, §2.4) and `mounted=false`; disks and files are otherwise left as they are.
   */
  poolMounted = true;
  private readonly closing = new AbortController();
  private readonly background = new Set<Promise<unknown>>();
  /** The chain of state writes (never rejects), the write waiting to start (it takes every change made until it starts), the latest one asked for. */
  private writes: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private lastCommit: Promise<void> | undefined;

  private constructor(
    readonly pool: Pool,
    private readonly store: StateStore,
    readonly state: SimState,
    readonly messages: SimulatorMessages,
    readonly poolFs: string,
  ) {
    this.disks = new DiskIndex(state.disks);
    for (const [name, id] of Object.entries(state.fileIds)) this.fileNames.set(id, name);
  }

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
    await this.changed();
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

  /**
   * Called after every saved change, e.g. to export disks through nvmet; must not throw. Runs in the write chain
   * (one at a time, outside the lock), before the replies of the changes it follows.
   */
  afterChange?: () => Promise<void>;

  /**
   * Records a model change (call it under the lock, right after the change): drops the cached pool capacity and
   * schedules a write of the whole state, shared with every change made until that write starts. Returns that
   * write; update() awaits it once the lock is released.
   */
  changed(): Promise<void> {
    this.pool.invalidate();
    if (this.queued === undefined) {
      // Started from the next macrotask: after the lock is released, and taking the changes made meanwhile too.
      const write = this.writes.then(yieldToLoop).then(async () => {
        this.queued = undefined; // changes from now on need the next write
        await this.store.save(this.state); // serializes the state synchronously, at the start
        await this.afterChange?.();
      });
      this.queued = write;
      this.writes = write.catch(() => undefined);
    }
    this.lastCommit = this.queued;
    return this.queued;
  }

  /**
   * Runs `fn` under the lock; then, with the lock released, waits for the write of the changes `fn` made (also
   * when `fn` threw: a change made before the throw is kept, as before). A failed write fails the command.
   */
  async update<T>(fn: () => Promise<T> | T): Promise<T> {
    let before: Promise<void> | undefined;
    let commit: Promise<void> | undefined;
    let result: T;
    try {
      result = await this.lock.run(async () => {
        before = this.lastCommit;
        try {
          return await fn();
        } finally {
          if (this.lastCommit !== before) commit = this.lastCommit;
        }
      });
    } catch (e) {
      await commit?.catch(() => undefined);
      throw e;
    }
    await commit;
    return result;
  }

  /** Resolves when every scheduled write has finished. */
  flush(): Promise<void> {
    return this.writes;
  }

  /** The `/file` name with this ID, if any. */
  fileNameOf(id: string): string | undefined {
    return this.fileNames.get(id);
  }

  /** Gives `name` a new `/file` ID unless it has one; true when it got one (a change). */
  setFileId(name: string): boolean {
    if (this.state.fileIds[name] !== undefined) return false;
    const id = hexId(this.state.nextFileId++);
    this.state.fileIds[name] = id;
    this.fileNames.set(id, name);
    return true;
  }

  /** Forgets the `/file` ID of `name`; true when it had one (a change). */
  dropFileId(name: string): boolean {
    const id = this.state.fileIds[name];
    if (id === undefined) return false;
    delete this.state.fileIds[name];
    if (this.fileNames.get(id) === name) this.fileNames.delete(id);
    return true;
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
      const d = this.disks.firstByIdOrSlot(key);
      if (!d) throw new TrapError(this.messages.noSuchItem, 0);
      return d;
    });
  }

  snapshot(): SimDisk[] {
    return this.disks.all().map((d) => ({
      ...d,
      nvmeTcpServerNqn: nqnOf(d),
      iscsiServerIqn: iqnOf(d),
      hostPath: this.pool.hostPath(d.filePath),
    }));
  }
}
