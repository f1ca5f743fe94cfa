import * as grpc from '@grpc/grpc-js';
import { loadCsi } from '../../src/grpc/proto';
import { parseEndpoint } from '../../src/grpc/server';

/**
 * A CSI client as a sidecar would use it: @grpc/grpc-js over the unix socket, every call with a deadline.
 * `call('CreateVolume', req)` resolves the response or rejects with the grpc ServiceError (code, details).
 */
type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export class CsiClient {
  private readonly identity: grpc.Client;
  private readonly controller: grpc.Client;
  private readonly node: grpc.Client;

  constructor(endpoint: string) {
    const csi = loadCsi().csi.v1;
    const addr = parseEndpoint(endpoint).address;
    const creds = grpc.credentials.createInsecure();
    this.identity = new csi.Identity(addr, creds);
    this.controller = new csi.Controller(addr, creds);
    this.node = new csi.Node(addr, creds);
  }

  private invoke<T>(client: grpc.Client, method: string, req: unknown, timeoutMs: number): Promise<T> {
    const fn = (client as unknown as Record<string, Unary>)[method];
    if (!fn) throw new Error(`no method ${method}`);
    return new Promise<T>((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res as T)));
    });
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test helper: responses are asserted field by field
  ctl(method: string, req: unknown = {}, timeoutMs = 10000): Promise<any> {
    return this.invoke(this.controller, method, req, timeoutMs);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  id(method: string, req: unknown = {}, timeoutMs = 5000): Promise<any> {
    return this.invoke(this.identity, method, req, timeoutMs);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  nodeCall(method: string, req: unknown = {}, timeoutMs = 10000): Promise<any> {
    return this.invoke(this.node, method, req, timeoutMs);
  }

  close(): void {
    this.identity.close();
    this.controller.close();
    this.node.close();
  }
}

/** The gRPC code of a rejected call (undefined if it resolved). */
export async function codeOf(p: Promise<unknown>): Promise<{ code?: number; details?: string }> {
  try {
    await p;
    return {};
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
}

export const MOUNT_RWO = { mount: { fsType: 'ext4' }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };
export const BLOCK_RWX = { block: {}, accessMode: { mode: 'MULTI_NODE_MULTI_WRITER' } };
