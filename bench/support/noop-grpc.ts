/**
 * Entry of a process that serves only Identity.GetPluginInfo with grpc-js (the CSI proto the driver loads), doing
 * nothing else, and records when each call reached its handler (wall clock, ms, sub-millisecond). The storm's floor
 * (storm.ts) sends its burst here: the arrival times are the fastest a grpc-js server on this machine can hand that
 * client's requests to handlers. Forked by forkIpc; argument: the unix socket path. IPC: `arrivals` returns and
 * clears them; `close`.
 */
import * as grpc from '@grpc/grpc-js';
import { loadCsi } from '../../src/grpc/proto';
import { serveIpc } from './ipc-serve';

const wallMs = (): number => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const [socketPath] = process.argv.slice(2);
  const arrivals: number[] = [];
  const server = new grpc.Server({ 'grpc.enable_channelz': 0 });
  const identity = loadCsi().csi.v1.Identity as unknown as { service: grpc.ServiceDefinition };
  server.addService(identity.service, {
    GetPluginInfo: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      arrivals.push(wallMs());
      cb(null, { name: 'noop', vendorVersion: '0' });
    },
  });
  await new Promise<number>((resolve, reject) =>
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  serveIpc(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())), { arrivals: () => arrivals.splice(0) });
}

main().catch((err: Error) => {
  process.stderr.write(`bench noop gRPC server: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
