/** RouterOS API simulator of a ROSE Data Server: public entry point. */
import * as path from 'node:path';
import { adminHandlers } from './admin';
import { Faults, type FaultController, type FaultSettings } from './faults';
import { NvmetExporter, nvmetAvailable, type NvmetExport, type NvmetOptions, DEFAULT_NVMET_ROOT } from './nvmet';
import { DEFAULT_MESSAGES, type SimulatorMessages } from './messages';
import { SimModel, type CopyReservation, type SimDisk } from './model/model';
import { Pool } from './model/pool';
import { modelHandlers, Router } from './router';
import { SimServer } from './server';
import { Stats } from './stats';

export type { FaultController, FaultSettings, EmptyMode, TrapRule } from './faults';
export type { SimDisk } from './model/model';
export type { SimulatorMessages } from './messages';
export type { NvmetExport, NvmetOptions } from './nvmet';

/** A `copy-from` copy in flight (its disk item appears when it completes). */
export type SimCopy = CopyReservation;

export interface SimulatorOptions {
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  dataDir: string;
  /** Pool slot and mount point; default `pool`. */
  poolName?: string;
  /** Report this pool size; free = size − allocated bytes of the files under the pool. Default: host filesystem. */
  poolSizeBytes?: number;
  /** File system shown on the pool item; default `btrfs`. */
  poolFs?: 'btrfs' | 'xfs';
  /** Default `admin`. */
  user?: string;
  /** Default `''`. */
  password?: string;
  faults?: Partial<FaultSettings>;
  /** Listen with TLS (api-ssl). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Trap texts of `/disk` and `/file` failures (unknown on hardware, so configurable). */
  messages?: Partial<SimulatorMessages>;
  logger?: (obj: object, msg: string) => void;
  /**
   * Export disks with `nvme-tcp-export=yes` as real kernel NVMe/TCP subsystems through configfs nvmet, listening on
   * `address` (and `port`, else each disk's `nvme-tcp-server-port`). Needs root and the nvmet + nvmet-tcp modules;
   * start fails when configfs nvmet is missing. See nvmet.ts.
   */
  nvmet?: NvmetOptions;
}

export interface RunningSimulator {
  host: string;
  port: number;
  dataDir: string;
  poolName: string;
  faults: FaultController;
  stats(): Record<string, number>;
  /** Snapshot of the file disks for assertions. */
  disks(): SimDisk[];
  /** `copy-from` copies in flight, oldest first. */
  copies(): SimCopy[];
  /** The nvmet exports right now (empty without the nvmet option). */
  nvmetExports(): NvmetExport[];
  /** Mounts or unmounts the pool's file system as `/simulator/pool/set =mounted=` does. */
  setPoolMounted(mounted: boolean): void;
  close(): Promise<void>;
}

export async function startSimulator(opts: SimulatorOptions): Promise<RunningSimulator> {
  const host = opts.host ?? '127.0.0.1';
  const dataDir = path.resolve(opts.dataDir);
  const poolName = opts.poolName ?? 'pool';
  const log = opts.logger ?? ((): void => undefined);
  const messages = { ...DEFAULT_MESSAGES, ...opts.messages };
  const model = await SimModel.open(new Pool(dataDir, poolName, opts.poolSizeBytes, messages), messages, opts.poolFs ?? 'btrfs');
  const faults = new Faults(opts.faults);
  model.copyBytesPerSecond = () => faults.copyBytesPerSecond;
  let nvmet: NvmetExporter | undefined;
  if (opts.nvmet) {
    const root = opts.nvmet.root ?? DEFAULT_NVMET_ROOT;
    if (!(await nvmetAvailable(root, opts.nvmet.fs))) {
      await model.close();
      throw new Error(`nvmet export: ${root}/subsystems is missing (needs root, configfs mounted and: modprobe nvmet nvmet-tcp)`);
    }
    const exporter = new NvmetExporter(opts.nvmet, dataDir, log);
    nvmet = exporter;
    model.afterChange = () => exporter.sync(model.snapshot());
    await model.lock.run(() => exporter.sync(model.snapshot()));
  }
  const stats = new Stats();
  const router = new Router({ ...modelHandlers(model, () => faults.emptyMode), ...adminHandlers(faults, stats, model) });
  const server = new SimServer(
    { router, faults, stats, user: opts.user ?? 'admin', password: opts.password ?? '', log },
    { host, port: opts.port ?? 0, tls: opts.tls },
  );
  let closed = false;
  // After close() a pending `down-for-ms` timer must not start listening again.
  faults.downHandler = (down) => (closed ? Promise.resolve() : server.setDown(down));
  faults.onError = (e) => log({ err: String(e) }, 'fault down/up failed');
  await server.listen();
  if (opts.faults?.down) await faults.setDown(true);
  log({ host, port: server.port, dataDir, poolName }, 'simulator listening');
  return {
    host,
    port: server.port,
    dataDir,
    poolName,
    faults,
    stats: () => stats.snapshot(),
    disks: () => model.snapshot(),
    copies: () => [...model.copies.values()].map((c) => ({ ...c })),
    nvmetExports: () => nvmet?.exports() ?? [],
    setPoolMounted: (mounted) => {
      model.poolMounted = mounted;
    },
    close: async () => {
      closed = true;
      await server.stop();
      // Copies in flight are abandoned (partial file deleted, no disk item), see runCopy in model/disks.ts.
      await model.close();
      await model.lock.run(async () => {
        await model.flush();
        model.afterChange = undefined;
        await nvmet?.close();
      });
    },
  };
}
