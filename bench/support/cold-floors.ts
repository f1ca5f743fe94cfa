import { bullmqFloor } from './bullmq-floor';
import type { BenchCsiClient } from './csi';
import { redisPingMs } from './redis-probe';
import { sleep, summarize, type Summary } from './stats';

/**
 * The floors of the queue path as a CreateVolume meets them: after idle time. While a create's RouterOS commands
 * run (3 × 5 ms and more), the controller, Redis and the client sit idle; the next message to each of them then
 * wakes a sleeping process (on this VM a halted vCPU as well), which back-to-back floors never pay. Measured here,
 * on the same controller and Redis, with GAP_MS of idle time before each call:
 * - a gRPC call that touches neither Redis nor RDS (GetPluginInfo);
 * - one Redis round trip (PING) from a fresh process;
 * - one no-op BullMQ job (add → completed event), its worker in a process of its own (as `rds-csi worker`) and in
 *   this process (as `rds-csi controller --with-worker`).
 * The shape floor adds them as the fixed shape of a create needs them (DESIGN.md §1): one gRPC call and one job, both
 * after idle, and the round trips durability asks for besides the job — the record claimed before it, the volume
 * lease taken in it, the record made ready after it (SHAPE_ROUND_TRIPS) — counted at the back-to-back PING (each
 * follows another command closely, so Redis is awake). The step mark before the add is left out: a floor, not a
 * sum of today's steps.
 */

export const GAP_MS = 20;
export const SHAPE_ROUND_TRIPS = 3;

export interface ColdFloors {
  gapMs: number;
  grpcNoopMs: Summary;
  redisPingMs: Summary;
  /** Back to back, for the shape's round trips. */
  redisPingHotMs: Summary;
  bullmqJobMs: { separateWorker: Summary; inProcessWorker: Summary };
  /** p50s: gRPC + job (after idle) + SHAPE_ROUND_TRIPS × back-to-back PING, per topology, ms. */
  shapeFloorMs: { separateWorker: number; inProcessWorker: number };
}

export async function coldFloors(client: BenchCsiClient, redisUrl: string, dir: string, n = 100): Promise<ColdFloors> {
  const grpc: number[] = [];
  for (let i = 0; i < n + 10; i++) {
    await sleep(GAP_MS);
    const t = process.hrtime.bigint();
    await client.pluginInfo(5000);
    if (i >= 10) grpc.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const ping = summarize(await redisPingMs(redisUrl, n, GAP_MS));
  const hot = summarize(await redisPingMs(redisUrl, n));
  const separateWorker = await bullmqFloor(redisUrl, n, { gapMs: GAP_MS, worker: 'child', dir });
  const inProcessWorker = await bullmqFloor(redisUrl, n, { gapMs: GAP_MS, worker: 'here' });
  const grpcNoopMs = summarize(grpc);
  const rest = grpcNoopMs.p50 + SHAPE_ROUND_TRIPS * hot.p50;
  return {
    gapMs: GAP_MS,
    grpcNoopMs,
    redisPingMs: ping,
    redisPingHotMs: hot,
    bullmqJobMs: { separateWorker, inProcessWorker },
    shapeFloorMs: { separateWorker: rest + separateWorker.p50, inProcessWorker: rest + inProcessWorker.p50 },
  };
}
