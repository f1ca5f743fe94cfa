/**
 * The wiring of `rds-csi volumes detach` (force-detach.ts holds the rules): Redis, the job queue with its events
 * (the controller's JobRunner and VolumeOperations, so the jobs are the controller's own), and the cluster for the
 * node's health and its VolumeAttachments.
 */
import { QueueEvents } from 'bullmq';
import { VolumeOperations } from '../api/volume-operations';
import type { NodeHealth } from '../cluster/ports';
import { closeRedis } from '../queue/close-redis';
import { redisConnection } from '../queue/connection';
import { JobRunner } from '../queue/job-runner';
import { VOLUME_QUEUE } from '../queue/jobs';
import { JobProducer } from '../queue/producer';
import { clusterFromConfig } from '../runtime/cluster-factory';
import { driverState } from '../state/stores';
import { createLogger } from '../log/logger';
import { detachNode, refusal, type DetachOutcome } from './force-detach';
import { openRedis, OpsFailure, type OpsContext } from './operator';

export interface DetachReport {
  node: string;
  health: NodeHealth;
  forced: boolean;
  /** Why nothing was done (node Ready, no --force). */
  refused?: string;
  outcomes: DetachOutcome[];
}

export async function detachVolumesOfNode(ctx: OpsContext, node: string, o: { force: boolean; waitMs: number }): Promise<DetachReport> {
  const cluster = await clusterFromConfig(ctx.cfg, createLogger('silent'));
  const health = await cluster.nodes.health(node).catch((err: Error) => {
    throw new OpsFailure(`cannot read node ${node} from Kubernetes: ${err.message}`);
  });
  const why = refusal(node, health);
  if (why && !o.force) return { node, health, forced: false, refused: why, outcomes: [] };
  const conn = await openRedis(ctx);
  const blocking = redisConnection(ctx.target, 'blocking');
  blocking.on('error', () => undefined);
  const producer = new JobProducer(conn, ctx.cfg.queuePrefix, ctx.cfg.worker);
  producer.queue.on('error', () => undefined);
  const events = new QueueEvents(VOLUME_QUEUE, { connection: blocking, prefix: ctx.cfg.queuePrefix, autorun: true });
  events.on('error', () => undefined);
  const runner = new JobRunner(producer, events);
  try {
    const { volumes: store, attachments } = driverState(conn, ctx.cfg.queuePrefix);
    const ops = new VolumeOperations({
      store,
      attachments,
      runner,
      nqnPrefix: ctx.cfg.nqnPrefix,
    });
    const outcomes = await detachNode(
      {
        attachments,
        unpublish: (volumeId, nodeId, waitMs) => ops.unpublish(volumeId, nodeId, waitMs),
        volumeAttachments: cluster.mode === 'kubernetes' ? () => cluster.attachments.list() : undefined,
      },
      node,
      o.waitMs,
    );
    return { node, health, forced: !!why, outcomes };
  } finally {
    runner.close();
    await events.close().catch(() => undefined);
    await producer.close().catch(() => undefined);
    closeRedis(blocking);
    conn.disconnect();
  }
}
