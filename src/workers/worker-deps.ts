import type { JobName } from '../queue/jobs';
import type { RdsPort } from '../rds/port';
import type { FencingContext, JobDeps, OrphanPolicy, Records } from './context';
import type { PoolSpace } from './pool-space';
import type { DiskOwner } from '../domain/ownership';

/**
 * Everything a worker process holds once (runtime/worker-app.ts builds it from the config); each job's processor
 * gets its own slice of it, JobDeps[N], from `depsOf`. Nothing here is optional: a worker can run every job.
 */
export interface WorkerDeps {
  rds: RdsPort;
  /** cfg.rds.basePath */
  basePath: string;
  /** cfg.volumePrefix */
  volumePrefix: string;
  /** cfg.nqnPrefix: reconcile.state rebuilds a volume's NQN from it when RDS shows none. */
  nqnPrefix: string;
  records: Records;
  fencing: FencingContext;
  orphans: OrphanPolicy;
  /** This driver and cluster, written on every disk it makes (src/domain/ownership.ts). */
  owner: DiskOwner;
  /** One free-space reading shared by this worker's adds (pool-space.ts). */
  space: PoolSpace;
}

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
  'reconcile.state': (w) => ({ records: w.records, nqnPrefix: w.nqnPrefix, metrics: w.fencing.metrics }),
  'reconcile.orphans': (w) => ({ records: w.records, orphans: w.orphans, events: w.fencing.events, metrics: w.fencing.metrics }),
};
