import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/registry';
import { cappedBackoffStrategy } from '../queue/backoff';
import { VOLUME_QUEUE, leaseKeysOf, type JobName, type VolumeScoped } from '../queue/jobs';
import { VolumeLease } from '../queue/lease';
import type { RdsPort } from '../rds/port';
import { toJobFailure } from './failure';
import { processors } from './processors';
import type { FencingContext, JobSteps, ProcessorContext } from './context';

/** The job's steps live in its progress object, so they survive the worker. */
function jobSteps(job: Job): JobSteps {
  const progress = job.progress;
  const done = new Set<string>(progress && typeof progress === 'object' && Array.isArray((progress as { steps?: unknown }).steps) ? ((progress as { steps: string[] }).steps) : []);
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
  rds: RdsPort;
  basePath: string;
  /** cfg.volumePrefix */
  volumePrefix: string;
  log: Logger;
  metrics?: Metrics;
  concurrency: number;
  leaseMs: number;
  lockMs: number;
  stalledIntervalMs: number;
  /** cfg.worker.backoffMs and backoffMaxMs: the capped backoff between a job's attempts (queue/backoff.ts). */
  backoffMs: number;
  backoffMaxMs: number;
  fencing?: FencingContext;
  records?: ProcessorContext['records'];
  nqnPrefix?: string;
  orphans?: ProcessorContext['orphans'];
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
    const name = job.name as JobName;
    const processor = processors[name] as ((data: unknown, ctx: Parameters<(typeof processors)[JobName]>[1]) => Promise<unknown>) | undefined;
    if (!processor) throw toJobFailure(new Error(`unknown job type ${job.name}`)).error;
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
      const result = await this.lease.hold(keys, holder, () =>
        processor(job.data, { rds: this.opts.rds, basePath: this.opts.basePath, volumePrefix: this.opts.volumePrefix, steps: jobSteps(job), log, fencing: this.opts.fencing, records: this.opts.records, nqnPrefix: this.opts.nqnPrefix, orphans: this.opts.orphans }),
      );
      this.observe(name, 'completed', started);
      return result;
    } catch (err) {
      const failure = toJobFailure(err);
      this.observe(name, failure.kind, started);
      this.opts.metrics?.jobFailures.inc({ type: name, kind: failure.kind });
      log.warn({ err: failure.error.message, kind: failure.kind }, 'job attempt failed');
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
