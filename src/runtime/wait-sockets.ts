import * as grpc from '@grpc/grpc-js';
import { loadCsi } from '../grpc/proto';
import { parseEndpoint } from '../grpc/server';

/**
 * Resolves when every endpoint answers Identity.GetPluginInfo without an error (asked every 50 ms, each call with a
 * 2 s deadline), or rejects after `timeoutMs`. GetPluginInfo, not Probe: a socket that answers is up, whether or not
 * the plugin's dependencies are ready yet.
 */
export async function waitForSockets(endpoints: string[], timeoutMs: number): Promise<void> {
  const csi = loadCsi().csi.v1;
  const deadline = Date.now() + timeoutMs;
  for (const ep of endpoints) {
    const client = new csi.Identity(parseEndpoint(ep).address, grpc.credentials.createInsecure());
    try {
      for (;;) {
        const ok = await new Promise<boolean>((resolve) => {
          client.GetPluginInfo({}, { deadline: Date.now() + 2000 }, (err) => resolve(!err));
        });
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`${ep} did not answer within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      client.close();
    }
  }
}
