import { Command } from 'commander';
import { checkNodeOptions, loadNodeConfig } from '../../config/node-config';
import { addConfigOptions, configOverrides } from '../../config/options';
import type { CommonFlags } from '../common';
import { EXIT_FAILED, EXIT_OK } from '../exit-codes';
import { loggerFor, runUntilSignal } from '../lifecycle';

export function nodeCommand(): Command {
  const node = addConfigOptions(new Command('node'), 'node')
    .description('CSI Identity + Node service on this host (NVMe/TCP connect, format, mount)')
    // Checked in the action (not requiredOption): commander checks a parent's mandatory options for its
    // subcommands too, and `rds-csi node shutdown` has no endpoint.
    .option('--endpoint <endpoint>', 'unix:///PATH (the kubelet plugin socket); required')
    .option('--http-listen <host:port>', 'serve /metrics and /healthz')
    .action(async (flags: CommonFlags & { endpoint?: string; httpListen?: string }, cmd: Command) => {
      if (!flags.endpoint) cmd.error("error: required option '--endpoint <endpoint>' not specified");
      const endpoint = flags.endpoint ?? '';
      // Without zod (src/config/node-config.ts, issue 14 item 4): only the keys the node reads, validated alike.
      const cfg = loadNodeConfig(configOverrides('node', flags), process.env, flags.config);
      // Before anything starts: a missing --node-id (or RDS_CSI_NODE_NODE_ID) is a config error naming both.
      const node = checkNodeOptions(cfg.node);
      const log = loggerFor(cfg, 'rds-csi-node');
      const { startNode } = await import('../../runtime/node-app');
      const { startHttpServer } = await import('../../http/server');
      const app = await startNode(cfg, { endpoint, node }, log);
      const http = flags.httpListen ? await startHttpServer(flags.httpListen, app.metrics, () => Promise.resolve(true)) : undefined;
      log.info({ endpoint, nodeId: node.nodeId, hostNqn: app.hostNqn, http: http?.port }, 'node ready');
      runUntilSignal(log, async () => {
        // A real node shutdown (not a pod restart/upgrade): bound the managed controllers' reconnects first.
        await app.shutdownIfNodeStopping().catch((err: Error) => log.error({ err: err.message }, 'node shutdown check failed'));
        await http?.close();
        await app.close();
      });
    });
  node.addCommand(shutdownCommand());
  return node;
}

/**
 * `rds-csi node shutdown`: lower ctrl_loss_tmo of the managed controllers to the shutdown bound (README "Node
 * shutdown"). With --if-node-shutting-down (the chart's preStop hook) only when logind/systemd say the node is
 * shutting down; a pod restart or upgrade leaves −1. Prints the outcome as JSON; exit 1 when a managed controller
 * could not be lowered.
 */
function shutdownCommand(): Command {
  return addConfigOptions(new Command('shutdown'), 'node')
    .description('lower ctrl_loss_tmo of the managed NVMe controllers so a node shutdown completes in bounded time')
    .option('--if-node-shutting-down', 'act only when logind/systemd report a node shutdown (preStop hook); otherwise leave -1')
    .action(async (flags: CommonFlags & { ifNodeShuttingDown?: boolean }, cmd: Command) => {
      const all = { ...(cmd.parent?.opts() ?? {}), ...flags } as CommonFlags;
      const cfg = loadNodeConfig(configOverrides('node', all), process.env, all.config);
      const log = loggerFor(cfg, 'rds-csi-node-shutdown');
      const { hostPort } = await import('../../host/port');
      const { nodeShutdown } = await import('../../runtime/node-shutdown');
      const o = cfg.node;
      const host = hostPort({ sysfsRoot: o.sysfsRoot, devRoot: o.devRoot, mountInfoFile: o.mountInfoFile });
      const r = await nodeShutdown(o, cfg.nqnPrefix, host, { onlyIfShuttingDown: flags.ifNodeShuttingDown === true }, log);
      process.stdout.write(`${JSON.stringify(r)}\n`);
      process.exitCode = r.report?.failed.length ? EXIT_FAILED : EXIT_OK;
    });
}
