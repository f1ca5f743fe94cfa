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
import { depsOf, type WorkerDeps } from './worker-deps';

/** The job's steps live in its progress object, so they survive the worker. */
function jobSteps(job: Job): JobSteps {
  const progress = job.progress;
  const done = new Set<string>(
    progress && typeof progress === 'object' && Array.isArray((progress as { steps?: unknown }).steps) ? (progress as { steps: string[] }).steps : [],
  );
  return {
    has: (step) => done.has(step),
    mark: async (step) => {
      done.add(step);
      await job.updateProgress({ steps: [...done] });
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
  /** What the processors use; each job gets its own slice (worker-deps.ts). */
  deps: WorkerDeps;
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

/** Runs job `name`'s processor with the BaseContext and exactly the deps it declares. */
function dispatch<N extends JobName>(name: N, data: JobData<N>, deps: WorkerDeps, steps: JobSteps, log: Logger): Promise<JobResult<N>> {
  const { rds, basePath, volumePrefix, owner } = deps;
  return processors[name](data, { rds, basePath, volumePrefix, owner, steps, log, ...depsOf[name](deps) });
}

export class WorkerHost {
  private readonly worker: Worker;
  private readonly lease: VolumeLease;

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
    const keys = leaseKeysOf(name, job.data as VolumeScoped);
    const holder = job.id ?? `${name}-${volumeId}`;
    if (!(await this.lease.acquireAll(keys, holder))) {
      // Another job of this volume runs somewhere: come back shortly instead of spinning.
      await job.moveToDelayed(Date.now() + 100 + Math.floor(Math.random() * 150), token);
      throw new DelayedError();
    }
    const log = this.opts.log.child({ job: job.id, type: name, volumeId, attempt: job.attemptsMade + 1 });
    const started = process.hrtime.bigint();
    this.opts.metrics?.jobAttempts.inc({ type: name });
    try {
      const result = await this.lease.hold(keys, holder, () => dispatch(name, job.data as JobData<typeof name>, this.opts.deps, jobSteps(job), log));
      this.observe(name, 'completed', started);
      return result;
    } catch (err) {
      const failure = toJobFailure(err);
      this.observe(name, failure.kind, started);
      this.opts.metrics?.jobFailures.inc({ type: name, kind: failure.kind });
      // The processor's own message, not the encoded one BullMQ stores (failure-codec.ts).
      log.warn({ err: err instanceof Error ? err.message : String(err), kind: failure.kind }, 'job attempt failed');
      throw failure.error;
    }
  }

  private observe(type: string, outcome: string, started: bigint): void {
    this.opts.metrics?.jobDuration.observe({ type, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
  }

  async close(): Promise<void> {
    await this.worker.close();
  }
}
