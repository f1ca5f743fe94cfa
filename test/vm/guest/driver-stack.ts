/**
 * The whole driver inside the VM for the scenarios that drive the controller (controller-nvmet, force-detach): a
 * private redis-server, `rds-csi simulator --nvmet` (every exported disk a kernel subsystem on 127.0.0.1:4420) and
 * the controller with an in-process worker, storage-side fencing on, standalone with the given nodes; optionally more
 * backends, each its own simulator on its own nvmet address and port (two-backends). What it starts
 * is pushed onto `closers` (closed in reverse by the scenario). The modules load lazily: the node plugin starts first.
 */
import path from 'node:path';
import type { Config } from '../../../src/config/schema';
import type { CsiGrpcClient } from '../../../src/grpc/client';
import { check, RESULTS } from './lib';

export interface DriverStack {
  cfg: Config;
  /** The controller's CSI client on `socket`. */
  ctl: CsiGrpcClient;
}

/**
 * An extra RDS backend (issue 16, `backends` in the config): its own simulator, started with the arguments of
 * `rds-csi simulator --nvmet --nvmet-address ADDR --nvmet-port PORT` (parsed by the CLI's own parser), so its disks
 * are kernel subsystems on their own nvmet port.
 */
export interface ExtraBackend {
  name: string;
  dataDir: string;
  nvmetAddress: string;
  nvmetPort: number;
}

export async function startDriverStack(o: {
  socket: string;
  dataDir: string;
  poolSizeBytes: number;
  nodes: string[];
  closers: Array<() => Promise<void>>;
  /** More backends beside the primary (`default`, 127.0.0.1:4420), each with its own simulator. */
  backends?: ExtraBackend[];
}): Promise<DriverStack> {
  const { createLogger } = await import('../../../src/log/logger');
  const { configSchema } = await import('../../../src/config/schema');
  const { startEmbeddedRedis } = await import('../../../src/runtime/embedded-redis');
  const { startSimulator } = await import('../../../src/simulator');
  const { startController } = await import('../../../src/runtime/controller-app');
  const { CsiGrpcClient } = await import('../../../src/grpc/client');
  const { createWriteStream } = await import('node:fs');
  const logger = createLogger('info', 'rds-csi-controller', createWriteStream(path.join(RESULTS, 'controller.log')));

  const redis = await startEmbeddedRedis();
  o.closers.push(() => redis.close());
  const sim = await startSimulator({
    dataDir: o.dataDir,
    port: 0,
    poolName: 'pool',
    poolSizeBytes: o.poolSizeBytes,
    nvmet: { address: '127.0.0.1' },
    logger: (obj, m) => logger.info(obj, m),
  });
  o.closers.push(() => sim.close());
  const backends: object[] = [];
  for (const b of o.backends ?? []) {
    const { parseCliArgs } = await import('../../../src/simulator/cli-args');
    const args = ['--data-dir', b.dataDir, '--port', '0', '--pool-size', String(o.poolSizeBytes), '--quiet'];
    const opts = parseCliArgs([...args, '--nvmet', '--nvmet-address', b.nvmetAddress, '--nvmet-port', String(b.nvmetPort)]);
    const extra = await startSimulator({ ...opts, logger: (obj, m) => logger.info({ backend: b.name, ...obj }, m) });
    o.closers.push(() => extra.close());
    backends.push({
      name: b.name,
      host: extra.host,
      port: extra.port,
      poolName: 'pool',
      basePath: '/pool/rds-csi',
      exportAddress: b.nvmetAddress,
      exportPort: b.nvmetPort,
    });
  }
  const cfg: Config = configSchema.parse({
    redisUrl: redis.url,
    rds: { host: sim.host, port: sim.port, poolName: 'pool', basePath: '/pool/rds-csi', exportAddress: '127.0.0.1', exportPort: 4420 },
    kubernetes: { mode: 'off' },
    nodes: o.nodes,
    fencing: { storageSide: true },
    backends,
  });
  const ctlApp = await startController(cfg, { endpoint: `unix://${o.socket}`, withWorker: true }, logger);
  o.closers.push(() => ctlApp.close());
  const ctl = new CsiGrpcClient(`unix://${o.socket}`);
  o.closers.push(() => Promise.resolve(ctl.close()));
  return { cfg, ctl };
}

/** One controller RPC, recorded as a check (`<what> ok`, with its time or its gRPC code); undefined when it failed. */
export async function controllerCall<T>(ctl: CsiGrpcClient, method: string, req: object, what = method): Promise<T | undefined> {
  const t = Date.now();
  try {
    const r = await ctl.call<T>('Controller', method, req, 60000);
    check(`${what} ok`, true, `${Date.now() - t} ms`);
    return r;
  } catch (err) {
    const e = err as { code?: number; details?: string };
    check(`${what} ok`, false, `code ${e.code}: ${e.details ?? String(err)}`);
    return undefined;
  }
}
