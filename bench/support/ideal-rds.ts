import type { AddDiskSpec, ExportSpec, PoolCapacity, RdsDisk, RdsFile, RdsPort } from '../../src/rds/port';

/**
 * An ideal RDS for the storm's control run: an in-memory RdsPort where every RouterOS command takes exactly
 * `latencyMs`, all commands run concurrently and nothing else costs time. Each method waits as many latencies as
 * RouterOsRds sends commands for it (addDisk = /disk/add + /disk/print). With it, a storm's distance from the ideal
 * is the driver's alone (gRPC, controller, Redis/BullMQ, worker), not the simulator's.
 *
 * Methods of RdsPort not listed here throw when called (a Proxy), so a new processor call shows as job errors
 * rather than breaking this file's build.
 */
class IdealRdsImpl {
  /** RouterOS commands "executed", by command path. */
  readonly commands: Record<string, number> = {};
  /** How long the commands really took, summed (timers fire late when the event loop is busy), ms. */
  elapsedMs = 0;
  private readonly disks = new Map<string, RdsDisk>();
  private nextId = 2;

  constructor(private readonly latencyMs: number) {}

  /**
   * How late a timer fires on this machine with nothing else to do, ms: setTimeout(20) fires after 20 ms plus up to a
   * millisecond (libuv's millisecond clock), which made this "ideal" RDS slower than the ideal it stands for. Each
   * command's timer is shortened by it (calibrate(), before the worker starts). The lateness a busy event loop adds on
   * top is left in: a real RDS's reply waits for the same loop, so that part is the worker's own cost.
   */
  private lateMs = 0;

  async calibrate(samples = 40): Promise<number> {
    let late = 0;
    for (let i = 0; i < samples; i++) {
      const t = performance.now();
      await new Promise((r) => setTimeout(r, this.latencyMs));
      late += performance.now() - t - this.latencyMs;
    }
    this.lateMs = Math.max(0, late / samples);
    return this.lateMs;
  }

  private async command(path: string): Promise<void> {
    this.commands[path] = (this.commands[path] ?? 0) + 1;
    const t = performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, this.latencyMs - this.lateMs)));
    this.elapsedMs += performance.now() - t;
  }

  async getDisk(slot: string): Promise<RdsDisk | undefined> {
    await this.command('/disk/print');
    const d = this.disks.get(slot);
    return d ? { ...d } : undefined;
  }

  async listDisks(slotPrefix = ''): Promise<RdsDisk[]> {
    await this.command('/disk/print');
    return [...this.disks.values()].filter((d) => d.slot.startsWith(slotPrefix)).map((d) => ({ ...d }));
  }

  async addDisk(spec: AddDiskSpec): Promise<RdsDisk> {
    await this.command('/disk/add');
    const disk: RdsDisk = {
      id: `*${(this.nextId++).toString(16).toUpperCase()}`,
      slot: spec.slot,
      filePath: spec.filePath,
      fileSizeBytes: spec.fileSizeBytes ?? 0,
      nvmeTcpExport: spec.export !== undefined, // one add creates it exported (RouterOS §2.3)
      nvmeTcpPort: spec.export?.port,
      nvmeTcpNqn: spec.export?.nqn,
      allowHostName: spec.export?.allowHostName,
      comment: spec.comment, // the ownership tag rides on the same add (src/domain/ownership.ts)
    };
    this.disks.set(spec.slot, disk);
    return (await this.getDisk(spec.slot)) as RdsDisk;
  }

  async setExport(id: string, spec: ExportSpec): Promise<void> {
    await this.command('/disk/set');
    for (const d of this.disks.values()) if (d.id === id) Object.assign(d, { nvmeTcpExport: true, nvmeTcpPort: spec.port, nvmeTcpNqn: spec.nqn });
  }

  async setComment(id: string, comment: string): Promise<void> {
    await this.command('/disk/set');
    for (const d of this.disks.values()) if (d.id === id) d.comment = comment;
  }

  async getFile(_path: string): Promise<RdsFile | undefined> {
    await this.command('/file/print');
    return undefined;
  }

  async poolCapacity(): Promise<PoolCapacity> {
    await this.command('/disk/print');
    return { sizeBytes: 2 ** 50, freeBytes: 2 ** 50 };
  }

  async ping(): Promise<void> {
    await this.command('/disk/print');
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

export interface IdealRds {
  port: RdsPort;
  commands(): Record<string, number>;
  elapsedMs(): number;
  /** Measures the idle timer lateness its commands then leave out; returns it, ms. */
  calibrate(): Promise<number>;
}

export function idealRds(latencyMs: number): IdealRds {
  const impl = new IdealRdsImpl(latencyMs);
  const port = new Proxy(impl, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (v === undefined && typeof prop === 'string') {
        return () => Promise.reject(new Error(`the bench's ideal RDS does not implement ${prop}`));
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as unknown as RdsPort;
  return { port, commands: () => ({ ...impl.commands }), elapsedMs: () => impl.elapsedMs, calibrate: () => impl.calibrate() };
}
