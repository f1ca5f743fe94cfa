import type { Logger } from '../log/logger';
import type { RdsPort } from '../rds/port';
import type { AttachmentSource, EventSink, NodeRegistry } from '../cluster/ports';
import type { AttachmentStore } from '../state/attachment-record';
import type { OrphanSightings } from '../state/orphan-sightings';
import type { SnapshotStore } from '../state/snapshot-record';
import type { VolumeStore } from '../state/volume-record';
import type { JobData, JobName, JobResult } from '../queue/jobs';
import type { PoolSpace } from './pool-space';
import type { DiskOwner } from '../domain/ownership';

/**
 * Steps a job has passed, kept in the job's progress in Redis so an attempt after a crash knows what an earlier
 * attempt already asked RDS to do (e.g. an add whose reply never came).
 */
export interface JobSteps {
  has(step: string): boolean;
  mark(step: string): Promise<void>;
}

/** The driver's volume and snapshot records (state/stores.ts), for the delete guard and the reconcilers. */
export interface Records {
  volumes: VolumeStore;
  snapshots: SnapshotStore;
}

export interface FencingMetrics {
  conflict(kind: string): void;
  migrationEnded(outcome: 'completed' | 'aborted' | 'failed', seconds: number): void;
  reconcile(action: string, n: number): void;
}

/** What fence.*, migration.timeout and reconcile.attachments need besides RDS. */
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
  metrics: FencingMetrics;
}

/** reconcile.orphans: report always; delete only when enabled, after the grace period from the first sighting. */
export interface OrphanPolicy {
  slotPrefix: string;
  /** Only disks whose ownership comment names this driver and cluster are orphans of ours. */
  owner: DiskOwner;
  delete: boolean;
  graceMs: number;
  sightings: OrphanSightings;
}

/**
 * What every processor gets: the RDS port, the settings that bound what it may touch, and its job's own steps and
 * logger.
 */
export interface BaseContext {
  rds: RdsPort;
  /** cfg.rds.basePath: the only directory whose files the driver creates or removes. */
  basePath: string;
  /** cfg.volumePrefix: the ids (and RouterOS slots) this driver owns start with it. Required: see domain/ids.ts. */
  volumePrefix: string;
  steps: JobSteps;
  log: Logger;
  /**
   * Who this worker writes as the owner of the disks it makes or adopts (src/domain/ownership.ts). Always set by a
   * worker (worker-deps.ts); absent for direct callers (benchmarks, tests of one processor): no comment is written.
   */
  owner?: DiskOwner;
}

/** disk.create and snapshot.create: the worker's shared free-space check before an add (pool-space.ts). */
export interface SpaceDeps {
  space: PoolSpace;
}

/** disk.create: storage-side fencing on = a new disk is added with a placeholder allowed host (allowed-hosts.ts). */
export interface CreateDeps extends SpaceDeps {
  storageSide: boolean;
}

/** disk.delete and snapshot.delete: the records and attachments the delete guard checks the job against. */
export interface DeleteDeps {
  records: Records;
  attachments: AttachmentStore;
}

/** The reconcilers run once per RDS backend (issue 16): which one this run is for. */
export interface ReconcileBackend {
  /** An extra backend's name (its ids are `<slot>@<name>`); absent = the primary, whose ids are bare slots. */
  backend?: string;
}

/**
 * What each job's processor needs besides the BaseContext, by job name: the worker host gives each processor exactly
 * this (worker-deps.ts), so a processor never checks at run time whether its worker was given something.
 */
export interface JobDeps {
  'disk.create': CreateDeps;
  'target.export': object;
  'disk.delete': DeleteDeps;
  'disk.expand': object;
  'snapshot.create': SpaceDeps;
  'snapshot.delete': DeleteDeps;
  'fence.attach': { fencing: FencingContext };
  'fence.detach': { fencing: FencingContext };
  'migration.timeout': { fencing: FencingContext };
  'reconcile.attachments': { fencing: FencingContext };
  'reconcile.state': { records: Records; nqnPrefix: string; metrics: FencingMetrics } & ReconcileBackend;
  'reconcile.orphans': { records: Records; orphans: OrphanPolicy; events: EventSink; metrics: FencingMetrics } & ReconcileBackend;
}

/** A processor's context: the BaseContext and its job's declared deps. */
export type ProcessorContext<N extends JobName> = BaseContext & JobDeps[N];

export type Processor<N extends JobName> = (data: JobData<N>, ctx: ProcessorContext<N>) => Promise<JobResult<N>>;

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
