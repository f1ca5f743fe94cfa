import type { Config } from '../config/schema';
import { hostNqnForNode } from '../domain/host-nqn';
import type { Metrics } from '../metrics/registry';
import { jobId } from '../queue/jobs';
import type { JobProducer } from '../queue/producer';
import type { AttachmentStore } from '../state/attachment-record';
import type { FencingContext } from '../workers/context';
import type { Cluster } from './cluster-factory';

/** Wires the fencing processors to Redis (records, delayed jobs), the cluster and the metrics. */
export function fencingContext(cfg: Config, producer: JobProducer, attachments: AttachmentStore, cluster: Cluster, metrics: Metrics): FencingContext {
  const timeoutId = (volumeId: string, startedAt: number): string => jobId('migration.timeout', volumeId, String(startedAt));
  return {
    attachments,
    nodes: cluster.nodes,
    events: cluster.events,
    vaSource: cluster.attachments,
    storageSide: cfg.fencing.storageSide,
    hostNqn: hostNqnForNode,
    scheduleTimeout: async (volumeId, startedAt, delayMs) => {
      await producer.add('migration.timeout', { volumeId, startedAt }, timeoutId(volumeId, startedAt), { delay: delayMs });
    },
    cancelTimeout: (volumeId, startedAt) => producer.remove(timeoutId(volumeId, startedAt)),
    enqueueDetach: async (volumeId, nodeId, slot) => {
      await producer.add('fence.detach', { volumeId, nodeId, slot, reason: 'node-deleted' }, jobId('fence.detach', volumeId, `${nodeId}-reconcile`), {
        class: 'once',
      });
    },
    metrics: {
      conflict: (kind) => metrics.attachmentConflicts.inc({ kind }),
      migrationEnded: (outcome, seconds) => metrics.migrationDuration.observe({ outcome }, seconds),
      reconcile: (action, n) => metrics.reconcileActions.inc({ action }, n),
    },
  };
}
