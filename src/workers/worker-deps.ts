import type { JobName } from '../queue/jobs';
import type { FencingContext, JobDeps, OrphanPolicy, Records } from './context';
import type { BackendDeps, WorkerBackends } from './backend-set';
import type { DiskOwner } from '../domain/ownership';

/**
 * What a worker process holds once for every backend (runtime/worker-app.ts builds it from the config).
 * Nothing here is optional: a worker can run every job.
 */
export interface SharedDeps {
  /** cfg.volumePrefix */
  volumePrefix: string;
  /** cfg.nqnPrefix: reconcile.state rebuilds a volume's NQN from it when RDS shows none. */
  nqnPrefix: string;
  records: Records;
  fencing: FencingContext;
  orphans: OrphanPolicy;
  /** This driver and cluster, written on every disk it makes (src/domain/ownership.ts). */
  owner: DiskOwner;
}

/** The worker host's deps: the shared ones and every RDS backend (issue 16). */
export interface WorkerHostDeps extends SharedDeps {
  backends: WorkerBackends;
}

/**
 * What one job runs with: the shared deps and the one backend its job names (the worker host picks it:
 * worker-host.ts); each job's processor gets its own slice of it, JobDeps[N], from `depsOf`.
 */
export type WorkerDeps = SharedDeps & BackendDeps;

/** The backend name a reconciler works for, only for an extra backend (absent = the primary, as before). */
const backendOf = (w: WorkerDeps): { backend?: string } => (w.backend === undefined ? {} : { backend: w.backend });

/** Per job name: exactly the deps its processor declares (context.ts JobDeps). */
export const depsOf: { [N in JobName]: (w: WorkerDeps) => JobDeps[N] } = {
  'disk.create': (w) => ({ space: w.space, storageSide: w.fencing.storageSide }),
  'target.export': () => ({}),
  'disk.delete': (w) => ({ records: w.records, attachments: w.fencing.attachments }),
  'disk.expand': () => ({}),
  'snapshot.create': (w) => ({ space: w.space }),
  'snapshot.delete': (w) => ({ records: w.records, attachments: w.fencing.attachments }),
  'fence.attach': (w) => ({ fencing: w.fencing }),
  'fence.detach': (w) => ({ fencing: w.fencing }),
  'migration.timeout': (w) => ({ fencing: w.fencing }),
  'reconcile.attachments': (w) => ({ fencing: w.fencing }),
  'reconcile.state': (w) => ({ records: w.records, nqnPrefix: w.nqnPrefix, metrics: w.fencing.metrics, ...backendOf(w) }),
  'reconcile.orphans': (w) => ({ records: w.records, orphans: w.orphans, events: w.fencing.events, metrics: w.fencing.metrics, ...backendOf(w) }),
};
