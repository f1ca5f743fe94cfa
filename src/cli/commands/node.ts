import { Command } from 'commander';
import type { NodeOptionsInput } from '../../node/config';
import { addCommonOptions, configFromFlags, loggerFor, runUntilSignal, type CommonFlags } from '../common';

/** Flags of the node plugin's own options (src/node/config.ts); `doctor node` takes the same. */
export function addNodeOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--node-id <id>', 'this node (the Kubernetes node name)')
    .option('--hostnqn <nqn>', 'host NQN for nvme connect (default: derived from the node id)')
    .option('--max-volumes-per-node <n>', 'reported in NodeGetInfo (0 = no limit)')
    .option('--connector <kind>', 'nvme-tcp (production) or loop (all-in-one, tests)')
    .option('--loop-data-dir <dir>', 'loop connector: the simulator data dir')
    .option('--sysfs-root <dir>', 'sysfs root (tests)')
    .option('--dev-root <dir>', '/dev root (tests)')
    .option('--kubelet-dir <dir>', "kubelet's root dir; every staging and target path must lie under it (default /var/lib/kubelet)")
    .option('--ctrl-loss-tmo <s>', 'default ctrl_loss_tmo (-1 = reconnect forever)')
    .option('--reconnect-delay <s>', 'default reconnect_delay')
    .option('--keep-alive-tmo <s>', 'default keep_alive_tmo')
    .option('--fast-io-fail-tmo <s>', 'default fast_io_fail_tmo');
}

export interface NodeFlags {
  nodeId: string;
  hostnqn?: string;
  maxVolumesPerNode?: string;
  connector?: 'nvme-tcp' | 'loop';
  loopDataDir?: string;
  sysfsRoot?: string;
  devRoot?: string;
  kubeletDir?: string;
  ctrlLossTmo?: string;
  reconnectDelay?: string;
  keepAliveTmo?: string;
  fastIoFailTmo?: string;
}

export function nodeOptionsFromFlags(f: NodeFlags): NodeOptionsInput {
  const connect = { ctrlLossTmo: f.ctrlLossTmo, reconnectDelay: f.reconnectDelay, keepAliveTmo: f.keepAliveTmo, fastIoFailTmo: f.fastIoFailTmo };
  return {
    nodeId: f.nodeId,
    hostNqn: f.hostnqn,
    maxVolumesPerNode: f.maxVolumesPerNode,
    connector: f.connector,
    loopDataDir: f.loopDataDir,
    sysfsRoot: f.sysfsRoot,
    devRoot: f.devRoot,
    kubeletDir: f.kubeletDir,
    connect: Object.values(connect).some((v) => v !== undefined) ? connect : undefined,
  };
}

export function nodeCommand(): Command {
  return addNodeOptions(addCommonOptions(new Command('node')))
    .description('CSI Identity + Node service on this host (NVMe/TCP connect, format, mount)')
    .requiredOption('--endpoint <endpoint>', 'unix:///PATH (the kubelet plugin socket)')
    .option('--http-listen <host:port>', 'serve /metrics and /healthz')
    .action(async (flags: CommonFlags & NodeFlags & { endpoint: string; httpListen?: string }) => {
      const cfg = configFromFlags(flags);
      const log = loggerFor(cfg, 'rds-csi-node');
      const { startNode } = await import('../../runtime/node-app');
      const { startHttpServer } = await import('../../http/server');
      const app = await startNode(cfg, { endpoint: flags.endpoint, node: nodeOptionsFromFlags(flags) }, log);
      const http = flags.httpListen ? await startHttpServer(flags.httpListen, app.metrics, () => Promise.resolve(true)) : undefined;
      log.info({ endpoint: flags.endpoint, nodeId: flags.nodeId, hostNqn: app.hostNqn, http: http?.port }, 'node ready');
      runUntilSignal(log, async () => {
        await http?.close();
        await app.close();
      });
    });
}
