/**
 * Everything in one process for trying the driver without Kubernetes or an RDS: controller with an in-process
 * worker, the node endpoint, and — when no Redis URL / RDS address is given — a private redis-server and the
 * embedded RouterOS simulator. `simulators: N` starts N−1 more simulators, each an extra RDS backend (issue 16;
 * all-in-one-backends.ts names them rds-b, rds-c, …), so the driver runs with several backends on one machine.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config/schema';
import { removeDirSafely } from '../host/safe-remove';
import type { Logger } from '../log/logger';
import { startSimulator, type RunningSimulator } from '../simulator';
import { startController, type ControllerApp } from './controller-app';
import { startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis';
import { startNode } from './node-app';
import { extraSimulatorBackends, extraSimulatorNames, nodeBackendsOf, simulatorDataDir } from './all-in-one-backends';

export interface AllInOneOptions {
  controllerEndpoint: string;
  nodeEndpoint: string;
  /** Use this Redis instead of starting one. */
  redisUrl?: string;
  /** host:port of an RDS (or simulator) instead of the embedded simulator. */
  rdsAddress?: string;
  dataDir?: string;
  httpListen?: string;
  simulatorLatencyMs?: number;
  /** Embedded simulators to start (default 1): the first is the primary `rds`, each other one an extra backend. */
  simulators?: number;
}

export interface AllInOne {
  controller: ControllerApp;
  simulator?: RunningSimulator;
  /** The simulators of the extra backends (`simulators` > 1), by backend name. */
  extraSimulators: Array<{ name: string; simulator: RunningSimulator }>;
  redisUrl: string;
  rdsAddress: string;
  close(): Promise<void>;
}

export async function startAllInOne(base: Config, o: AllInOneOptions, log: Logger): Promise<AllInOne> {
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch((err: Error) => log.warn({ err: err.message }, 'shutdown step failed'));
  };
  try {
    let redis: EmbeddedRedis | undefined;
    if (!o.redisUrl) {
      redis = await startEmbeddedRedis();
      closers.push(() => redis!.close());
    }
    let simulator: RunningSimulator | undefined;
    const extraSimulators: AllInOne['extraSimulators'] = [];
    let rdsHost = base.rds.host;
    let rdsPort = base.rds.port;
    const names = extraSimulatorNames(base, o.simulators ?? 1, !!o.rdsAddress);
    const simulatorFor = async (dataDir: string | undefined): Promise<RunningSimulator> => {
      if (!dataDir) {
        // A temp dir of our own goes when we stop (closed last, after the node plugin and the simulator). A volume
        // still staged at shutdown keeps a loop device on a backing file in it: then it stays, and the log says why.
        const tmp = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-sim-'));
        closers.push(() => Promise.resolve().then(() => removeDirSafely(tmp)));
        dataDir = tmp;
      }
      const sim = await startSimulator({
        host: '127.0.0.1',
        port: 0,
        dataDir,
        poolName: base.rds.poolName,
        user: base.rds.user,
        password: base.rds.password,
        faults: o.simulatorLatencyMs ? { latencyMs: o.simulatorLatencyMs } : undefined,
      });
      closers.push(() => sim.close());
      return sim;
    };
    if (o.rdsAddress) {
      const i = o.rdsAddress.lastIndexOf(':');
      rdsHost = o.rdsAddress.slice(0, i);
      rdsPort = Number(o.rdsAddress.slice(i + 1));
    } else {
      simulator = await simulatorFor(o.dataDir);
      rdsHost = simulator.host;
      rdsPort = simulator.port;
      for (const name of names) extraSimulators.push({ name, simulator: await simulatorFor(o.dataDir && simulatorDataDir(o.dataDir, name)) });
    }
    const redisUrl = o.redisUrl ?? redis!.url;
    // The embedded node plugin runs with the config's node block (--kubelet-dir, RDS_CSI_NODE_*), id `all-in-one` unless set.
    const nodeId = base.node.nodeId ?? 'all-in-one';
    const cfg: Config = {
      ...base,
      redisUrl,
      rds: { ...base.rds, host: rdsHost, port: rdsPort, tls: o.rdsAddress ? base.rds.tls : false },
      backends: [...base.backends, ...extraSimulatorBackends(base.rds, extraSimulators)],
      // Standalone: the embedded node is the one node that exists.
      kubernetes: { ...base.kubernetes, mode: base.kubernetes.kubeconfig ? base.kubernetes.mode : 'off' },
      nodes: base.nodes.length ? base.nodes : [nodeId],
    };
    const controller = await startController(
      cfg,
      { endpoint: o.controllerEndpoint, withWorker: true, httpListen: o.httpListen },
      log.child({ component: 'controller' }),
    );
    closers.push(() => controller.close());
    // With the embedded simulator the node attaches its backing files with losetup (no NVMe needed).
    const node = await startNode(
      cfg,
      {
        endpoint: o.nodeEndpoint,
        node: {
          ...base.node,
          nodeId,
          ...(simulator ? { connector: 'loop', loopDataDir: simulator.dataDir } : {}),
          ...nodeBackendsOf(cfg, extraSimulators.length > 0),
        },
        moreLoopDataDirs: extraSimulators.map((s) => s.simulator.dataDir),
      },
      log.child({ component: 'node' }),
    );
    closers.push(() => node.close());
    return { controller, simulator, extraSimulators, redisUrl, rdsAddress: `${rdsHost}:${rdsPort}`, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
