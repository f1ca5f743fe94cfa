import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/registry';
import { cappedBackoffStrategy } from '../queue/backoff';
import { VOLUME_QUEUE, leaseKeysOf, type JobData, type JobName, type JobResult, type VolumeScoped } from '../queue/jobs';
import { VolumeLease, type Take } from '../queue/lease';
import { gatedPort, gatedSteps, LeaseGateClosed } from './lease-gate';
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
  gate?: Promise<void>,
): Promise<JobResult<N>> {
  const { volumePrefix, nqnPrefix, records, fencing, orphans, owner } = shared;
  const deps: WorkerDeps = { volumePrefix, nqnPrefix, records, fencing, orphans, owner, ...backend.deps };
  const { basePath } = backend.deps;
  const rds = gate ? gatedPort(backend.deps.rds, gate) : backend.deps.rds;
  const s = gate ? gatedSteps(steps, gate) : steps;
  return processors[name](data, { rds, basePath, volumePrefix, owner, steps: s, log, ...depsOf[name](deps) });
}

/**
 * Jobs whose processor starts with a read-only look at RDS: it is sent while the lease is being taken (issue 14),
 * every RDS write and step mark waits for the lease (lease-gate.ts), and a look made while the lease may have been
 * held elsewhere is thrown away (queue/lease.ts take). Only disk.create (ensure-disk.ts: `/file/print` first).
 */
const LOOK_WHILE_TAKING: ReadonlySet<JobName> = new Set<JobName>(['disk.create']);

/** Back to delayed in 100-250 ms: the lease is held elsewhere, or the job's backend is at its limit here. */
async function comeBackShortly(job: Job, token: string | undefined): Promise<never> {
  await job.moveToDelayed(Date.now() + 100 + Math.floor(Math.random() * 150), token);
  throw new DelayedError();
}

export class WorkerHost {
  private readonly worker: Worker;
  private readonly lease: VolumeLease;
  /** Jobs of each backend running in this worker now, for the per-backend limit (BackendConfig.concurrency). */
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
    if (b.concurrency !== undefined && n >= b.concurrency) return false;
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
    const [only] = keys;
    if (LOOK_WHILE_TAKING.has(name) && keys.length === 1 && only !== undefined) {
      const gen = (job.data as { gen?: unknown }).gen;
      const take = this.lease.take(only, holder, typeof gen === 'string' ? gen : undefined);
      const took = await this.attempt(name, job, backend, keys, holder, take);
      if (took === 'held') return comeBackShortly(job, token);
      if (took === 'stale') {
        this.opts.log.info({ job: job.id, type: name, volumeId }, 'job skipped: its volume record has another generation');
        return { sizeBytes: 0, stale: true };
      }
      return took.result;
    }
    // Another job of this volume runs somewhere: come back shortly instead of spinning.
    if (!(await this.lease.acquireAll(keys, holder))) return comeBackShortly(job, token);
    return this.attempt(name, job, backend, keys, holder).then((r) => (r as { result: unknown }).result);
  }

  /**
   * One attempt of the job's processor under its lease. With `take` (LOOK_WHILE_TAKING) the processor starts at once,
   * its writes gated on the take: a fresh take lets it go on; any other answer stops it at its first write (its look
   * is discarded) and, when the lease was taken anyway, runs it again from the start under the lease.
   */
  private async attempt(
    name: JobName,
    job: Job,
    backend: WorkerBackend,
    keys: string[],
    holder: string,
    take?: Promise<Take>,
  ): Promise<{ result: unknown } | Exclude<Take, 'fresh' | 'taken'>> {
    const { volumeId } = job.data as VolumeScoped;
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
    const run = (gate?: Promise<void>): Promise<unknown> =>
      dispatch(
        name,
        job.data as JobData<typeof name>,
        this.opts.deps,
        backend,
        jobSteps(job, (p) => this.writeSteps(job, p)),
        log,
        gate,
      );
    let early: Promise<unknown> | undefined;
    if (take) {
      const gate = take.then((t) => {
        if (t !== 'fresh') throw new LeaseGateClosed(t);
      });
      gate.catch(() => undefined);
      early = run(gate);
      early.catch(() => undefined); // awaited below (or dropped with its look)
      const took = await take;
      if (took !== 'fresh') {
        await early.catch(() => undefined); // stopped at its first write at the latest
        if (took !== 'taken') return took;
        early = undefined; // the lease is ours now: look again under it
      }
    }
    this.opts.metrics?.jobAttempts.inc(labels);
    try {
      const running = early;
      const result = await this.lease.hold(keys, holder, () => running ?? run());
      this.observe(labels, 'completed', started);
      return { result };
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
