import * as grpc from '@grpc/grpc-js';
import { loadCsi } from '../../src/grpc/proto';

/** A CSI client as the external-provisioner uses it: @grpc/grpc-js over the unix socket, each call with a deadline. */
type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export const GiB = 1024 * 1024 * 1024;
/**
 * Size of every volume the bench creates. Small on purpose: the worker's free-space check counts its adds in flight
 * at their full size (a thick pool; src/workers/pool-space.ts), and the simulator's pool is the host's file system
 * (/dev/shm here, sparse files), so 32 concurrent 1 GiB adds would be refused on a small tmpfs. The bench measures
 * the queue and RouterOS commands, which do not depend on the size.
 */
export const BENCH_VOLUME_BYTES = 16 * 1024 * 1024;

export class BenchCsiClient {
  private readonly identity: grpc.Client;
  private readonly controller: grpc.Client;

  /** `socketPath`: absolute path of the controller's unix socket. */
  constructor(socketPath: string) {
    const csi = loadCsi().csi.v1;
    const creds = grpc.credentials.createInsecure();
    this.identity = new csi.Identity(`unix:${socketPath}`, creds);
    this.controller = new csi.Controller(`unix:${socketPath}`, creds);
  }

  private invoke(client: grpc.Client, method: string, req: unknown, timeoutMs: number): Promise<unknown> {
    const fn = (client as unknown as Record<string, Unary | undefined>)[method];
    if (!fn) return Promise.reject(new Error(`no method ${method}`));
    return new Promise((resolve, reject) => {
      fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  pluginInfo(timeoutMs = 1000): Promise<unknown> {
    return this.invoke(this.identity, 'GetPluginInfo', {}, timeoutMs);
  }

  /** CreateVolume of a BENCH_VOLUME_BYTES ext4 filesystem volume, RWO, as a PVC would ask for it. */
  createVolume(name: string, timeoutMs: number): Promise<unknown> {
    return this.invoke(
      this.controller,
      'CreateVolume',
      {
        name,
        capacityRange: { requiredBytes: String(BENCH_VOLUME_BYTES) },
        volumeCapabilities: [{ mount: { fsType: 'ext4' }, accessMode: { mode: 'SINGLE_NODE_WRITER' } }],
        parameters: {},
      },
      timeoutMs,
    );
  }

  /** CreateSnapshot of `sourceVolumeId`, as the external-snapshotter asks for it. */
  createSnapshot(name: string, sourceVolumeId: string, timeoutMs: number): Promise<unknown> {
    return this.invoke(this.controller, 'CreateSnapshot', { name, sourceVolumeId, parameters: {} }, timeoutMs);
  }

  /** One ListVolumes page; `maxEntries` 0 = the plugin's own page size. */
  async listVolumes(startingToken: string, maxEntries: number, timeoutMs: number): Promise<{ entries: number; nextToken: string }> {
    const r = (await this.invoke(this.controller, 'ListVolumes', { startingToken, maxEntries }, timeoutMs)) as {
      entries?: unknown[];
      nextToken?: string;
    };
    return { entries: r.entries?.length ?? 0, nextToken: r.nextToken ?? '' };
  }

  /** One ListSnapshots page (no filter). */
  async listSnapshots(startingToken: string, maxEntries: number, timeoutMs: number): Promise<{ entries: number; nextToken: string }> {
    const r = (await this.invoke(this.controller, 'ListSnapshots', { startingToken, maxEntries }, timeoutMs)) as {
      entries?: unknown[];
      nextToken?: string;
    };
    return { entries: r.entries?.length ?? 0, nextToken: r.nextToken ?? '' };
  }

  close(): void {
    this.identity.close();
    this.controller.close();
  }
}

/** The gRPC status name of an error (or its message for non-gRPC errors). */
export function errorCode(err: unknown): string {
  const code = (err as Partial<grpc.ServiceError>).code;
  if (typeof code === 'number') return grpc.status[code] ?? String(code);
  return err instanceof Error ? err.message : String(err);
}
