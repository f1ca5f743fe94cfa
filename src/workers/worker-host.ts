import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/registry';
import { cappedBackoffStrategy } from '../queue/backoff';
import { VOLUME_QUEUE, leaseKeysOf, type JobData, type JobName, type JobResult, type VolumeScoped } from '../queue/jobs';
import { VolumeLease } from '../queue/lease';
import { toJobFailure } from './failure';
import { processors } from './processors';
import type { JobSteps } from './context';
import { depsOf, type WorkerDeps, type WorkerHostDeps } from './worker-deps';
import type { WorkerBackend } from './backend-set';

/**
 * A step mark: the job hash's `progress` field, written only while the job exists. This is bullmq's
 * updateProgress-3.lua (bullmq 5.81) without its `progress` event: nothing reads those events (the API waits for
 * `completed`/`failed` only), and each one woke every QueueEvents reader (the controller's) for nothing while the
 * job ran (issue 14). The mark itself is as durable as before: awaited, in the job's own hash.
 */
const MARK_STEPS = `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'progress', ARGV[1]) return 0 end
return -1`;

/** The job's steps live in its progress object, so they survive the worker. */
function jobSteps(job: Job, write: (progress: { steps: string[] }) => Promise<void>): JobSteps {
  const progress = job.progress;
  const done = new Set<string>(
    progress && typeof progress === 'object' && Array.isArray((progress as { steps?: unknown }).steps) ? (progress as { steps: string[] }).steps : [],
  );
  return {
    has: (step) => done.has(step),
    mark: async (step) => {
      done.add(step);
      await write({ steps: [...done] });
    },
  };
}

/**
 * Runs the volume jobs: takes the per-volume lease (a job that finds it held goes back to delayed, it does not
 * spin), dispatches to the job's processor, and maps failures to retry or fail-fast. Runs inside the controller
 * process or as `rds-csi worker`; any number of them share one Redis.
 */
export interface WorkerHostOptions {
  connection: Redis;
  prefix: string;
  /** What the processors use, every RDS backend among it; each job gets its backend's slice (worker-deps.ts). */
  deps: WorkerHostDeps;
  log: Logger;
  metrics?: Metrics;
  concurrency: number;
  leaseMs: number;
  lockMs: number;
  stalledIntervalMs: number;
  /** cfg.worker.backoffMs and backoffMaxMs: the capped backoff between a job's attempts (queue/backoff.ts). */
  backoffMs: number;
  backoffMaxMs: number;
}

function isJobName(name: string): name is JobName {
  return Object.prototype.hasOwnProperty.call(processors, name);
}

/**
 * Runs job `name`'s processor against one backend (issue 16: chosen here, in one place, never by a processor) with
 * the BaseContext and exactly the deps it declares.
 */
function dispatch<N extends JobName>(
  name: N,
  data: JobData<N>,
  shared: WorkerHostDeps,
  backend: WorkerBackend,
  steps: JobSteps,
  log: Logger,
): Promise<JobResult<N>> {
  const { volumePrefix, nqnPrefix, records, fencing, orphans, owner } = shared;
  const deps: WorkerDeps = { volumePrefix, nqnPrefix, records, fencing, orphans, owner, ...backend.deps };
  const { rds, basePath } = backend.deps;
  return processors[name](data, { rds, basePath, volumePrefix, owner, steps, log, ...depsOf[name](deps) });
}

/** Back to delayed in 100-250 ms: the lease is held elsewhere, or the job's backend is at its limit here. */
async function comeBackShortly(job: Job, token: string | undefined): Promise<never> {
  await job.moveToDelayed(Date.now() + 100 + Math.floor(Math.random() * 150), token);
  throw new DelayedError();
}

export class WorkerHost {
  private readonly worker: Worker;
  private readonly lease: VolumeLease;
  /** Jobs of each backend running in this worker now, for the per-backend limit (backend-set.ts, backendJobLimit). */
  private readonly running = new Map<string, number>();

  constructor(private readonly opts: WorkerHostOptions) {
    this.lease = new VolumeLease(opts.connection, opts.prefix, opts.leaseMs);
    this.worker = new Worker(VOLUME_QUEUE, (job, token) => this.process(job, token), {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      lockDuration: opts.lockMs,
      stalledInterval: opts.stalledIntervalMs,
      maxStalledCount: 5,
      settings: { backoffStrategy: cappedBackoffStrategy(opts.backoffMaxMs, opts.backoffMs) },
      autorun: true,
    });
    this.worker.on('error', (err) => opts.log.error({ err }, 'worker error'));
  }

  async waitUntilReady(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  private async process(job: Job, token?: string): Promise<unknown> {
    const name = job.name;
    if (!isJobName(name)) throw toJobFailure(new Error(`unknown job type ${job.name}`)).error;
    const { volumeId } = job.data as VolumeScoped;
    let backend: WorkerBackend;
    try {
      backend = this.opts.deps.backends.ofJob(name, job.data as VolumeScoped);
    } catch (err) {
      // A backend this configuration does not have (or a malformed id): fails at once, never retried.
      this.opts.log.warn(
        { job: job.id, type: name, volumeId, err: err instanceof Error ? err.message : String(err) },
        'job names no configured backend',
      );
      this.opts.metrics?.jobFailures.inc({ type: name, kind: 'permanent' });
      throw toJobFailure(err).error;
    }
    // Per-backend limit (issue 16): a backend at its limit in this worker does not hold a worker slot waiting; its
    // job goes back to delayed and the slot takes another backend's job. BullMQ's way to delay an active job:
    // job.moveToDelayed with the job's lock token, then throw DelayedError so the worker neither completes nor fails
    // it (https://docs.bullmq.io/patterns/process-step-jobs, "Delaying"). A queue-wide rate limit (worker.rateLimit)
    // would stop every backend's jobs, hence this.
    if (!this.enter(backend)) return comeBackShortly(job, token);
    try {
      return await this.run(name, job, token, backend);
    } finally {
      this.leave(backend);
    }
  }

  private enter(b: WorkerBackend): boolean {
    const n = this.running.get(b.name) ?? 0;
    if (n >= b.concurrency) return false;
    this.running.set(b.name, n + 1);
    return true;
  }

  private leave(b: WorkerBackend): void {
    this.running.set(b.name, (this.running.get(b.name) ?? 1) - 1);
  }

  private async run(name: JobName, job: Job, token: string | undefined, backend: WorkerBackend): Promise<unknown> {
    const { volumeId } = job.data as VolumeScoped;
    const keys = leaseKeysOf(name, job.data as VolumeScoped);
    const holder = job.id ?? `${name}-${volumeId}`;
    // Another job of this volume runs somewhere: come back shortly instead of spinning.
    if (!(await this.lease.acquireAll(keys, holder))) return comeBackShortly(job, token);
    const log = this.opts.log.child({
      job: job.id,
      type: name,
      volumeId,
      attempt: job.attemptsMade + 1,
      ...(backend.primary ? {} : { backend: backend.name }),
    });
    const started = process.hrtime.bigint();
    // Job metrics carry the job's backend (issue 16; "default" on a single-RDS install, like the RDS metrics).
    const labels = { type: name, backend: backend.name };
    this.opts.metrics?.jobAttempts.inc(labels);
    try {
      const result = await this.lease.hold(keys, holder, () =>
        dispatch(
          name,
          job.data as JobData<typeof name>,
          this.opts.deps,
          backend,
          jobSteps(job, (p) => this.writeSteps(job, p)),
          log,
        ),
      );
      this.observe(labels, 'completed', started);
      return result;
    } catch (err) {
      const failure = toJobFailure(err);
      this.observe(labels, failure.kind, started);
      this.opts.metrics?.jobFailures.inc({ ...labels, kind: failure.kind });
      // The processor's own message, not the encoded one BullMQ stores (failure-codec.ts).
      log.warn({ err: err instanceof Error ? err.message : String(err), kind: failure.kind }, 'job attempt failed');
      throw failure.error;
    }
  }

  /** Records the job's steps in its hash (one round trip); a job that is gone (removed under it) fails the attempt. */
  private async writeSteps(job: Job, progress: { steps: string[] }): Promise<void> {
    const missing = await this.opts.connection.eval(MARK_STEPS, 1, this.worker.toKey(job.id ?? ''), JSON.stringify(progress));
    if (missing !== 0) throw new Error(`job ${job.id ?? '?'} no longer exists: its step ${progress.steps.join(', ')} was not recorded`);
    job.progress = progress;
  }

  private observe(labels: { type: string; backend: string }, outcome: string, started: bigint): void {
    this.opts.metrics?.jobDuration.observe({ ...labels, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
  }

  async close(): Promise<void> {
    await this.worker.close();
  }
}
