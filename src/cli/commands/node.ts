import { Command } from 'commander';
import { parseNodeOptions } from '../../config/load';
import { addConfigOptions } from '../../config/options';
import { configFromFlags, loggerFor, runUntilSignal, type CommonFlags } from '../common';

export function nodeCommand(): Command {
  return addConfigOptions(new Command('node'), 'node')
    .description('CSI Identity + Node service on this host (NVMe/TCP connect, format, mount)')
    .requiredOption('--endpoint <endpoint>', 'unix:///PATH (the kubelet plugin socket)')
    .option('--http-listen <host:port>', 'serve /metrics and /healthz')
    .action(async (flags: CommonFlags & { endpoint: string; httpListen?: string }) => {
      const cfg = configFromFlags('node', flags);
      // Before anything starts: a missing --node-id (or RDS_CSI_NODE_NODE_ID) is a config error naming both.
      const node = parseNodeOptions(cfg.node);
      const log = loggerFor(cfg, 'rds-csi-node');
      const { startNode } = await import('../../runtime/node-app');
      const { startHttpServer } = await import('../../http/server');
      const app = await startNode(cfg, { endpoint: flags.endpoint, node }, log);
      const http = flags.httpListen ? await startHttpServer(flags.httpListen, app.metrics, () => Promise.resolve(true)) : undefined;
      log.info({ endpoint: flags.endpoint, nodeId: node.nodeId, hostNqn: app.hostNqn, http: http?.port }, 'node ready');
      runUntilSignal(log, async () => {
        await http?.close();
        await app.close();
      });
    });
}
