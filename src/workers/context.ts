import type { Logger } from '../log/logger';
import type { RdsPort } from '../rds/port';
import type { AttachmentSource, EventSink, NodeRegistry } from '../cluster/ports';
import type { AttachmentStore } from '../state/attachment-record';
import type { OrphanSightings } from '../state/orphan-sightings';
import type { SnapshotStore } from '../state/snapshot-record';
import type { VolumeStore } from '../state/volume-record';
import type { JobData, JobName, JobResult } from '../queue/jobs';

/**
 * Steps a job has passed, kept in the job's progress in Redis so an attempt after a crash knows what an earlier
 * attempt already asked RDS to do (e.g. an add whose reply never came).
 */
export interface JobSteps {
  has(step: string): boolean;
  mark(step: string): Promise<void>;
}

/** What fence.*, migration.timeout and reconcile jobs need besides RDS. */
export interface FencingContext {
  attachments: AttachmentStore;
  nodes: NodeRegistry;
  events: EventSink;
  vaSource: AttachmentSource;
  /** Storage-side fencing: keep each disk's allowed host NQNs equal to its attached nodes. */
  storageSide: boolean;
  hostNqn(nodeId: string): string;
  /** Delayed migration.timeout job (its id names the migration, so cancelling finds it). */
  scheduleTimeout(volumeId: string, startedAt: number, delayMs: number): Promise<void>;
  cancelTimeout(volumeId: string, startedAt: number): Promise<void>;
  /** Enqueues a fence.detach (the reconciler clearing a deleted node). */
  enqueueDetach(volumeId: string, nodeId: string, slot: string): Promise<void>;
  metrics?: FencingMetrics;
}

export interface FencingMetrics {
  conflict(kind: string): void;
  migrationEnded(outcome: 'completed' | 'aborted' | 'failed', seconds: number): void;
  reconcile(action: string, n: number): void;
}

/** What every processor gets: the RDS port, the base path it may touch, its job's steps, and a logger. */
export interface ProcessorContext {
  rds: RdsPort;
  basePath: string;
  /** cfg.volumePrefix: the ids (and RouterOS slots) this driver owns start with it. Required: see domain/ids.ts. */
  volumePrefix: string;
  steps: JobSteps;
  log: Logger;
  fencing?: FencingContext;
  /** The driver's records, for the reconcilers. */
  records?: { volumes: VolumeStore; snapshots: SnapshotStore };
  nqnPrefix?: string;
  orphans?: OrphanPolicy;
}

/** reconcile.orphans: report always; delete only when enabled, after the grace period from the first sighting. */
export interface OrphanPolicy {
  slotPrefix: string;
  delete: boolean;
  graceMs: number;
  sightings: OrphanSightings;
}

export function fencingOf(ctx: ProcessorContext): FencingContext {
  if (!ctx.fencing) throw new Error('this worker was started without fencing support');
  return ctx.fencing;
}

export type Processor<N extends JobName> = (data: JobData<N>, ctx: ProcessorContext) => Promise<JobResult<N>>;

/** Steps kept in memory only: for callers outside a queue job (benchmarks, direct calls). */
export function memorySteps(): JobSteps {
  const done = new Set<string>();
  return {
    has: (step) => done.has(step),
    mark: (step) => {
      done.add(step);
      return Promise.resolve();
    },
  };
}
