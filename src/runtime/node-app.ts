import { identityService } from '../grpc/identity';
import { checkNodeOptions, type NodeRunConfig } from '../config/node-config';
import type { NodeOptions, NodeOptionsInput } from '../config/schema';
import { csiServiceDefinitions, NODE_SERVICES } from '../grpc/csi-services';
import { startServer, type RunningServer } from '../grpc/server';
import { buildHandlers } from '../grpc/service';
import { hostPort, type HostPort } from '../host/port';
import type { Logger } from '../log/logger';
import { Metrics } from '../metrics/registry';
import type { Connector } from '../node/connector';
import { nodeFailure, type NodeDeps } from '../node/deps';
import { hostNqnForNode } from '../domain/host-nqn';
import { nodeBackendsOf } from '../config/node-backends';
import { reachBackends } from '../node/backend-reach';
import { nodeTopology } from '../node/node-topology';
import { LoopConnector } from '../node/loop-connector';
import { orphanCounter, timedRunner } from '../node/metrics';
import { mounter } from '../node/mounter';
import { NvmeTcpConnector } from '../node/nvme-connector';
import { cleanOrphans, type OrphanReport, scheduleOrphanCleanup } from '../node/orphans';
import { nodeService } from '../node/service';
import { nodeShutdown, type NodeShutdownResult } from './node-shutdown';
import { VolumeLocks } from '../node/volume-lock';

/**
 * The node process: Identity (the same plugin capabilities as the controller's) + Node over gRPC on the kubelet's unix socket, and the
 * orphan cleaner (at start-up, then periodically). Shared settings (driver name, NQN prefix, RDS base path for the
 * loop connector) and the node's own (the config's `node:` block, passed as `node` and checked by checkNodeOptions) come from the config (NodeRunConfig).
 */

export interface NodeAppOptions {
  endpoint: string;
  node: NodeOptionsInput;
  /** Tests: a host port with a fake sysfs/dev root or a recording runner. Default: the real host. */
  host?: HostPort;
  metrics?: Metrics;
  /** All-in-one with several simulators: the loop connector's data dirs after node.loopDataDir (one per backend). */
  moreLoopDataDirs?: readonly string[];
}

export interface NodeApp {
  server: RunningServer;
  metrics: Metrics;
  options: NodeOptions;
  hostNqn: string;
  connector: Connector;
  cleanOrphans(): Promise<OrphanReport>;
  /**
   * On SIGTERM: when logind/systemd say the node is shutting down, lower the managed controllers' ctrl_loss_tmo
   * (runtime/node-shutdown.ts); on a pod restart or upgrade nothing changes (−1 stays).
   */
  shutdownIfNodeStopping(): Promise<NodeShutdownResult>;
  close(): Promise<void>;
}

export function connectorFor(cfg: NodeRunConfig, o: NodeOptions, host: HostPort, hostNqn: string, moreLoopDataDirs?: readonly string[]): Connector {
  if (o.connector === 'loop') {
    return new LoopConnector({
      host,
      nqnPrefix: cfg.nqnPrefix,
      dataDir: o.loopDataDir ?? '',
      moreDataDirs: moreLoopDataDirs,
      basePath: cfg.rds.basePath,
      toolTimeoutMs: o.toolTimeoutMs,
    });
  }
  return new NvmeTcpConnector({ host, nqnPrefix: cfg.nqnPrefix, hostNqn, nvmeCommand: o.nvmeCommand, toolTimeoutMs: o.toolTimeoutMs });
}

export async function startNode(cfg: NodeRunConfig, opts: NodeAppOptions, log: Logger): Promise<NodeApp> {
  const o = checkNodeOptions(opts.node);
  const listed = nodeBackendsOf(o.backends, cfg.rds.backend); // a ConfigError before anything starts
  const metrics = opts.metrics ?? new Metrics('node');
  const base = opts.host ?? hostPort({ sysfsRoot: o.sysfsRoot, devRoot: o.devRoot, mountInfoFile: o.mountInfoFile });
  const host: HostPort = { ...base, run: timedRunner(base.run, metrics) };
  const hostNqn = o.hostNqn ?? hostNqnForNode(o.nodeId);
  const connector = connectorFor(cfg, o, host, hostNqn, opts.moreLoopDataDirs);
  const locks = new VolumeLocks(o.busyWaitMs);
  // node.backends (issue 16): each listed backend's NVMe/TCP port is tried at once, bounded by backendReachMs, and
  // NodeGetInfo reports the reached ones. Empty: the primary's segment, no check.
  const outcomes = listed.length ? await reachBackends(listed, o.backendReachMs, log, metrics) : undefined;
  const topology = nodeTopology(cfg.driverName, cfg.rds.backend, o.backends, outcomes);
  const deps: NodeDeps = { opts: o, nqnPrefix: cfg.nqnPrefix, host, connector, mounter: mounter(host), locks, log, topology };

  // Only Identity and Node, from the precompiled descriptor (no .proto parsing, no proto-loader: issue 14 item 4).
  const csi = csiServiceDefinitions(NODE_SERVICES);
  const identity = identityService(cfg.driverName, {
    checks: [{ name: 'mountinfo', check: async () => void (await host.mounts()) }],
    onNotReady: (name, err) => log.warn({ dependency: name, err: (err as Error).message }, 'probe: not ready'),
  });
  const server = await startServer(opts.endpoint, [
    { definition: csi.Identity, handlers: buildHandlers(csi.Identity, 'Identity', identity, log, metrics) },
    { definition: csi.Node, handlers: buildHandlers(csi.Node, 'Node', nodeService(deps), log, metrics, nodeFailure) },
  ]);

  const orphans = orphanCounter(metrics);
  const runCleanup = async (): Promise<OrphanReport> => {
    const report = await cleanOrphans(connector, cfg.nqnPrefix, locks, log);
    orphans.inc(report.disconnected.length);
    return report;
  };
  const stopCleanup = scheduleOrphanCleanup(runCleanup, o.orphanIntervalMs, log);
  log.info({ endpoint: opts.endpoint, nodeId: o.nodeId, hostNqn, connector: o.connector, topology: topology.segments }, 'node ready');

  return {
    server,
    metrics,
    options: o,
    hostNqn,
    connector,
    cleanOrphans: runCleanup,
    shutdownIfNodeStopping: () => nodeShutdown(o, cfg.nqnPrefix, host, { onlyIfShuttingDown: true }, log),
    close: async () => {
      stopCleanup();
      await server.close();
    },
  };
}
