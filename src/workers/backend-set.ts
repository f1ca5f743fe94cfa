import { splitId } from '../domain/backend-id';
import { Failure, failedPrecondition } from '../domain/failure';
import type { JobName, VolumeScoped } from '../queue/jobs';
import type { RdsBackends } from '../rds/backends';
import type { RdsPort } from '../rds/port';
import { PoolSpace } from './pool-space';

/**
 * The RDS backends as a worker runs jobs against them (issue 16): each with its own RouterOS port (own connection
 * and circuit breaker), the settings its processors use, its own free-space reading and its own per-worker job
 * limit. The worker host picks one per job (worker-host.ts), so a processor only ever sees one RDS.
 */
export interface BackendDeps {
  rds: RdsPort;
  /** This backend's rds.basePath: the only directory whose files the driver creates or removes there. */
  basePath: string;
  /** One free-space reading of this backend's pool shared by this worker's adds (pool-space.ts). */
  space: PoolSpace;
  /** An extra backend's name (its ids are `<slot>@<name>`); absent for the primary, whose ids are bare slots. */
  backend?: string;
}

export interface WorkerBackend {
  name: string;
  primary: boolean;
  /** At most this many of this backend's jobs run at once in this worker (backendJobLimit). */
  concurrency: number;
  deps: BackendDeps;
}

/** Jobs that carry a backend name in their data rather than a volume id (one run per backend). */
interface BackendScoped extends VolumeScoped {
  backend?: string;
}

export class WorkerBackends {
  private readonly byName: ReadonlyMap<string, WorkerBackend>;

  constructor(readonly list: readonly WorkerBackend[]) {
    if (!list.length || !list[0].primary) throw new Error('WorkerBackends: the primary backend comes first');
    this.byName = new Map(list.map((b) => [b.name, b]));
  }

  get primary(): WorkerBackend {
    return this.list[0];
  }

  /**
   * The backend job `name` runs against: a reconciler's `backend` (absent = the primary), otherwise the backend its
   * volume id names (snapshot.create: the source volume's; snapshot.delete: the snapshot's). An id naming a backend
   * this configuration does not have fails the job at once: retrying cannot make the backend appear, and guessing
   * another RDS could touch a disk of the same slot that is not this volume's.
   */
  ofJob(name: JobName, data: BackendScoped): WorkerBackend {
    if (name.startsWith('reconcile.')) {
      const b = data.backend === undefined ? this.primary : this.byName.get(data.backend);
      if (!b) throw failedPrecondition(`${name} is for backend ${data.backend}, which this driver's configuration does not have`);
      return b;
    }
    const id = data.volumeId;
    const what = name === 'snapshot.delete' ? 'snapshot' : 'volume';
    const placed = splitId(id);
    if (!placed) throw new Failure('invalid', `${what} id ${id} names no valid backend after its '@'; it was not made by this driver`);
    if (placed.backend === undefined) return this.primary;
    const b = this.byName.get(placed.backend);
    if (!b) throw failedPrecondition(`${what} ${id} is on backend ${placed.backend}, which this driver's configuration does not have`);
    return b;
  }
}

/**
 * How many of one backend's jobs may run at once in a worker with `workerConcurrency` slots, when `backendCount`
 * backends are configured. A backend's own `concurrency` wins (primaryBackend.concurrency or backends[i].concurrency).
 * Without one, a single backend has every slot, as before backends existed; with several, a backend has half the
 * slots (rounded up, at least 1). Why: a backend that hangs (a black-holed connection: each RouterOS call waits for
 * its timeout and the job retries) would otherwise fill every slot with its jobs, and the healthy backends' jobs,
 * the primary's creates among them, would wait behind it. One sick RDS must not stop the others (issue 16 item 1).
 */
export function backendJobLimit(configured: number | undefined, backendCount: number, workerConcurrency: number): number {
  if (configured !== undefined) return configured;
  return backendCount > 1 ? Math.max(1, Math.ceil(workerConcurrency / 2)) : workerConcurrency;
}

/**
 * The worker's view of `backends`: each one's port and base path, a pool reading kept `poolReadingTtlMs`, and its job
 * limit in a worker of `workerConcurrency` slots (backendJobLimit).
 */
export function workerBackends(backends: RdsBackends, poolReadingTtlMs: number, workerConcurrency: number): WorkerBackends {
  return new WorkerBackends(
    backends.list.map((b) => ({
      name: b.name,
      primary: b.primary,
      concurrency: backendJobLimit(b.config.concurrency, backends.list.length, workerConcurrency),
      deps: {
        rds: b.rds,
        basePath: b.config.rds.basePath,
        space: new PoolSpace(() => b.rds.poolCapacity(), poolReadingTtlMs),
        ...(b.primary ? {} : { backend: b.name }),
      },
    })),
  );
}
