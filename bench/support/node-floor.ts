import { Server, ServerCredentials } from '@grpc/grpc-js';
import path from 'node:path';
import { csiServiceDefinitions, NODE_SERVICES } from '../../src/grpc/csi-services';
import { createLogger } from '../../src/log/logger';
import { Metrics } from '../../src/metrics/registry';

/**
 * Bench part (m)'s floor (issue 14 item 4): the least a Node.js CSI node plugin built on these libraries holds. A
 * child process (argv[2] = a directory) that only serves the CSI Identity and Node services (no handlers) with
 * grpc-js on a unix socket, makes the pino logger and the prom-client registry with the default process metrics
 * (src/metrics/registry.ts), and then idles; it writes `ready` to stdout when the socket is bound. node-rss.ts
 * reads its RSS with the same NODE_OPTIONS as the real plugin: what the plugin holds above it is its own.
 */
const dir = process.argv[2];
const server = new Server();
const csi = csiServiceDefinitions(NODE_SERVICES);
server.addService(csi.Identity, {});
server.addService(csi.Node, {});
const log = createLogger('warn', 'node-floor');
const metrics = new Metrics('node');
server.bindAsync(`unix://${path.join(dir, 'floor.sock')}`, ServerCredentials.createInsecure(), (err) => {
  if (err) {
    log.error({ err: err.message }, 'bind failed');
    process.exit(1);
  }
  process.stdout.write(`ready ${metrics.registry.getMetricsAsArray().length}\n`);
});
setInterval(() => undefined, 60000);
