import { Queue, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { retryOptions, type RetryPolicy } from './backoff';
import { VOLUME_QUEUE, reconcileKey, type JobData, type JobName, type JobResult } from './jobs';

/**
 * The one producer of volume jobs: every job the driver enqueues goes through `add` or `schedule` here, and the
 * job options are set once, as the Queue's `defaultJobOptions` (BullMQ merges them into every `add` and into a job
 * scheduler's template: bullmq 5 Queue.add / Queue.upsertJobScheduler, `{ ...this.jobsOpts, ...opts }`).
 *
 * A few jobs differ from the default on purpose; their differences are the `JobClass` table below, nowhere else.
 */

/** How long a finished job stays: a retried RPC finds its finished job for a day; a failure stays a week. */
const RETENTION: Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> = {
  removeOnComplete: { age: 24 * 3600, count: 50000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

/**
 * - `request`: the default (API jobs, delayed migration timeouts): the retry policy and RETENTION.
 * - `once`: its deterministic id must be free again as soon as it completed (the reconciler's fence.detach for a
 *   deleted node: a later deletion of a node of the same name enqueues it again).
 * - `startup`: reconcile.state at start-up, one id per minute; one attempt (the next start re-checks).
 * - `scheduled`: a job scheduler's runs (the reconcilers); one attempt each (the next run comes on schedule), kept.
 */
export type JobClass = 'request' | 'once' | 'startup' | 'scheduled';

export const JOB_CLASS_OPTIONS: Record<JobClass, JobsOptions> = {
  request: {},
  once: { removeOnComplete: true, removeOnFail: { age: 24 * 3600 } },
  startup: { attempts: 1, removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } },
  scheduled: { attempts: 1, removeOnComplete: false, removeOnFail: false },
};

/** The options every job of the volume queue starts from (the Queue's defaultJobOptions). */
export function defaultJobOptions(policy: RetryPolicy): JobsOptions {
  return { ...retryOptions(policy), ...RETENTION };
}

export interface AddOptions {
  /** Run no earlier than this many ms from now (migration.timeout). */
  delay?: number;
  class?: JobClass;
}

/** The reconcilers that run on a schedule, one job scheduler each (a single Redis entity cluster-wide). */
export type ScheduledJob = Extract<JobName, 'reconcile.orphans' | 'reconcile.attachments'>;

export class JobProducer {
  /** The volume queue, with the job options set once. Read it for look-ups (Job.fromId, counts); add through `add`. */
  readonly queue: Queue;

  constructor(connection: Redis, prefix: string, policy: RetryPolicy) {
    this.queue = new Queue(VOLUME_QUEUE, { connection, prefix, defaultJobOptions: defaultJobOptions(policy) });
  }

  /** Adds a job under its deterministic id; BullMQ keeps the existing job when one has that id. */
  add<N extends JobName>(name: N, data: JobData<N>, jobId: string, opts: AddOptions = {}): Promise<Job<JobData<N>, JobResult<N>, N>> {
    const options: JobsOptions = { ...JOB_CLASS_OPTIONS[opts.class ?? 'request'], jobId };
    if (opts.delay !== undefined) options.delay = opts.delay;
    return this.queue.add(name, data, options) as Promise<Job<JobData<N>, JobResult<N>, N>>;
  }

  /**
   * Creates or updates the job scheduler that runs `name` every `everyMs`; for an extra RDS backend (issue 16) one
   * of its own, `<name>@<backend>`, whose runs carry the backend in their data.
   */
  async schedule(name: ScheduledJob, everyMs: number, backend?: string): Promise<void> {
    const data = backend === undefined ? { volumeId: '' as const } : { volumeId: '' as const, backend };
    await this.queue.upsertJobScheduler(reconcileKey(name, backend), { every: everyMs }, { name, data, opts: JOB_CLASS_OPTIONS.scheduled });
  }

  /**
   * Removes the per-backend job schedulers of `name` whose backend is not in `keep` (a backend taken out of the
   * configuration): their runs would only fail. The primary's scheduler (the bare name) is never removed here.
   */
  async unscheduleOtherBackends(name: ScheduledJob, keep: readonly string[]): Promise<string[]> {
    const wanted = new Set(keep.map((b) => reconcileKey(name, b)));
    const stale = (await this.queue.getJobSchedulers()).map((s) => s.key).filter((key) => key.startsWith(`${name}@`) && !wanted.has(key));
    for (const key of stale) await this.queue.removeJobScheduler(key);
    return stale;
  }

  /** Removes a job that has not run (a cancelled migration timeout); absent or running = nothing to do. */
  async remove(jobId: string): Promise<void> {
    await this.queue.remove(jobId).catch(() => 0);
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
