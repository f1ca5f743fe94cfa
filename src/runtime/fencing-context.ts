import type { Queue } from 'bullmq';
import type { Config } from '../config/schema';
import { hostNqnForNode } from '../domain/host-nqn';
import type { Metrics } from '../metrics/registry';
import { retryOptions } from '../queue/backoff';
import { jobId } from '../queue/jobs';
import type { AttachmentStore } from '../state/attachment-record';
import type { FencingContext } from '../workers/context';
import type { Cluster } from './cluster-factory';

/** Wires the fencing processors to Redis (records, delayed jobs), the cluster and the metrics. */
export function fencingContext(cfg: Config, queue: Queue, attachments: AttachmentStore, cluster: Cluster, metrics?: Metrics): FencingContext {
  const timeoutId = (volumeId: string, startedAt: number): string => jobId('migration.timeout', volumeId, String(startedAt));
  return {
    attachments,
    nodes: cluster.nodes,
    events: cluster.events,
    vaSource: cluster.attachments,
    storageSide: cfg.fencing.storageSide,
    hostNqn: hostNqnForNode,
    scheduleTimeout: async (volumeId, startedAt, delayMs) => {
      await queue.add('migration.timeout', { volumeId, startedAt }, { jobId: timeoutId(volumeId, startedAt), delay: delayMs, ...retryOptions(cfg.worker), removeOnComplete: { age: 24 * 3600 }, removeOnFail: { age: 7 * 24 * 3600 } });
    },
    cancelTimeout: async (volumeId, startedAt) => {
      await queue.remove(timeoutId(volumeId, startedAt)).catch(() => 0);
    },
    enqueueDetach: async (volumeId, nodeId, slot) => {
      await queue.add('fence.detach', { volumeId, nodeId, slot, reason: 'node-deleted' }, { jobId: jobId('fence.detach', volumeId, `${nodeId}-reconcile`), ...retryOptions(cfg.worker), removeOnComplete: true, removeOnFail: { age: 24 * 3600 } });
    },
    metrics: metrics && {
      conflict: (kind) => metrics.attachmentConflicts.inc({ kind }),
      migrationEnded: (outcome, seconds) => metrics.migrationDuration.observe({ outcome }, seconds),
      reconcile: (action, n) => metrics.reconcileActions.inc({ action }, n),
    },
  };
}
