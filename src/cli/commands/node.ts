import { Command } from 'commander';
import { checkNodeOptions, loadNodeConfig } from '../../config/node-config';
import { addConfigOptions, configOverrides } from '../../config/options';
import type { CommonFlags } from '../common';
import { loggerFor, runUntilSignal } from '../lifecycle';

export function nodeCommand(): Command {
  return addConfigOptions(new Command('node'), 'node')
    .description('CSI Identity + Node service on this host (NVMe/TCP connect, format, mount)')
    .requiredOption('--endpoint <endpoint>', 'unix:///PATH (the kubelet plugin socket)')
    .option('--http-listen <host:port>', 'serve /metrics and /healthz')
    .action(async (flags: CommonFlags & { endpoint: string; httpListen?: string }) => {
      // Without zod (src/config/node-config.ts, issue 14 item 4): only the keys the node reads, validated alike.
      const cfg = loadNodeConfig(configOverrides('node', flags), process.env, flags.config);
      // Before anything starts: a missing --node-id (or RDS_CSI_NODE_NODE_ID) is a config error naming both.
      const node = checkNodeOptions(cfg.node);
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
