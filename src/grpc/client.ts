/**
 * A CSI client as a sidecar or kubelet uses it: @grpc/grpc-js over the plugin's socket, every call with a
 * deadline. Used by the demo and the tests; `call<T>` resolves the decoded response (typed by the caller with the
 * generated `__Output` types) or rejects with the grpc ServiceError (code, details).
 */
import * as grpc from '@grpc/grpc-js';
import { loadCsi } from './proto';
import { parseEndpoint } from './server';

export type CsiService = 'Identity' | 'Controller' | 'Node';

type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export class CsiGrpcClient {
  private readonly clients: Record<CsiService, grpc.Client>;

  constructor(endpoint: string) {
    const csi = loadCsi().csi.v1;
    const addr = parseEndpoint(endpoint).address;
    const creds = grpc.credentials.createInsecure();
    this.clients = { Identity: new csi.Identity(addr, creds), Controller: new csi.Controller(addr, creds), Node: new csi.Node(addr, creds) };
  }

  call<T>(service: CsiService, method: string, req: object, timeoutMs = 10000): Promise<T> {
    const client = this.clients[service];
    const fn = (client as unknown as Record<string, Unary | undefined>)[method];
    if (!fn) return Promise.reject(new Error(`${service} has no method ${method}`));
    return new Promise<T>((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res as T)));
    });
  }

  close(): void {
    for (const c of Object.values(this.clients)) c.close();
  }
}
