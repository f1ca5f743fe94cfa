import type * as grpc from '@grpc/grpc-js';
import { CsiGrpcClient } from '../../src/grpc/client';

/** The shared CSI client with untyped responses: tests assert fields one by one. */
export class CsiClient {
  private readonly c: CsiGrpcClient;

  constructor(endpoint: string) {
    this.c = new CsiGrpcClient(endpoint);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test helper: responses are asserted field by field
  ctl(method: string, req: object = {}, timeoutMs = 10000): Promise<any> {
    return this.c.call('Controller', method, req, timeoutMs);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  id(method: string, req: object = {}, timeoutMs = 5000): Promise<any> {
    return this.c.call('Identity', method, req, timeoutMs);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  nodeCall(method: string, req: object = {}, timeoutMs = 10000): Promise<any> {
    return this.c.call('Node', method, req, timeoutMs);
  }

  close(): void {
    this.c.close();
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
