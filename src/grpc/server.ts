/**
 * A gRPC server on `unix:///path` (what CSI sidecars and kubelet use) or `tcp://host:port`. A stale unix socket
 * left by a crashed process is removed; any other file in the way is an error, never deleted.
 *
 * Modes are explicit, not left to the umask: the socket is 0600 (only its owner connects: kubelet and the node plugin
 * are root; in the controller pod the sidecars share the driver's uid 65532), and directories the driver creates for
 * it are 0700. A directory that already exists (a kubelet-made hostPath or emptyDir) is left as it is.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';

export const SOCKET_MODE = 0o600;
export const SOCKET_DIR_MODE = 0o700;

export interface RunningServer {
  endpoint: string;
  /** For tcp endpoints, the bound port. */
  port: number;
  close(): Promise<void>;
}

export function parseEndpoint(endpoint: string): { address: string; socketPath?: string } {
  if (endpoint.startsWith('unix://')) {
    const socketPath = endpoint.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new Error(`endpoint ${endpoint}: unix socket path must be absolute (unix:///run/csi/csi.sock)`);
    return { address: `unix:${socketPath}`, socketPath };
  }
  if (endpoint.startsWith('tcp://')) return { address: endpoint.slice('tcp://'.length) };
  throw new Error(`endpoint ${endpoint}: expected unix:///PATH or tcp://HOST:PORT`);
}

/** Creates the missing directories above the socket, each 0700 whatever the umask. */
function ensureSocketDir(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) {
    mkdirSync(d, { mode: SOCKET_DIR_MODE });
    chmodSync(d, SOCKET_DIR_MODE);
  }
}

function clearStaleSocket(socketPath: string): void {
  ensureSocketDir(path.dirname(socketPath));
  let st;
  try {
    st = lstatSync(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket; refusing to replace it`);
  unlinkSync(socketPath);
}

export async function startServer(
  endpoint: string,
  services: Array<{ definition: grpc.ServiceDefinition; handlers: grpc.UntypedServiceImplementation }>,
): Promise<RunningServer> {
  const { address, socketPath } = parseEndpoint(endpoint);
  if (socketPath) clearStaleSocket(socketPath);
  // Channelz (grpc-js's introspection service) is never served here; its per-call bookkeeping is switched off.
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024, 'grpc.enable_channelz': 0 });
  for (const s of services) server.addService(s.definition, s.handlers);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  if (socketPath) {
    try {
      chmodSync(socketPath, SOCKET_MODE);
    } catch (err) {
      server.forceShutdown();
      throw err;
    }
  }
  return {
    endpoint,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          if (socketPath) {
            try {
              unlinkSync(socketPath);
            } catch {
              /* already gone */
            }
          }
          resolve();
        });
      }),
  };
}
