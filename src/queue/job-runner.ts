import { Job, type Queue, type QueueEvents } from 'bullmq';
import { status } from '@grpc/grpc-js';
import { GrpcError, codeFromName } from '../grpc/errors';
import { decodeFailure, type JobData, type JobName, type JobResult } from './jobs';
import { JobWaiter, JobWaitTimeout } from './job-waiter';
import type { JobProducer } from './producer';

/**
 * Enqueue-and-await for the API: add a job under its deterministic id (or find the one already there), then wait
 * for its result until `waitMs`. A job still running answers ABORTED so the sidecar retries the same request; a
 * failed job answers with the CSI code its processor recorded and is retried on the caller's next attempt.
 */

export class OperationPending extends GrpcError {
  constructor(what: string) {
    super(status.ABORTED, `${what} is still in progress; retry the same request`);
  }
}

export interface RunOptions {
  /** A finished job under this id is a result of an earlier, separate request: run the job again. */
  fresh?: boolean;
  /**
   * No earlier job can have this id (its generation was claimed by this very call): add without looking first.
   * A concurrent add of the same id still dedupes in Redis.
   */
  newId?: boolean;
}

export class JobRunner {
  private readonly queue: Queue;

  constructor(
    private readonly producer: JobProducer,
    private readonly events: QueueEvents,
  ) {
    this.queue = producer.queue;
  }

  /** One set of listeners for every wait (see job-waiter.ts), not three per RPC; made at the first wait. */
  private waiterInstance?: JobWaiter;
  private get waiter(): JobWaiter {
    return (this.waiterInstance ??= new JobWaiter(this.queue, this.events));
  }

  async run<N extends JobName>(name: N, id: string, data: JobData<N>, waitMs: number, opts: RunOptions = {}): Promise<JobResult<N>> {
    const job = await this.findOrAdd(name, id, data, opts);
    if (waitMs <= 0) throw new OperationPending(`${name} ${id}`);
    try {
      return (await this.waiter.wait(job.id ?? id, waitMs)) as JobResult<N>;
    } catch (err) {
      throw this.toGrpc(name, id, err);
    }
  }

  private async findOrAdd<N extends JobName>(name: N, id: string, data: JobData<N>, opts: RunOptions): Promise<Job> {
    const existing = opts.newId ? undefined : await Job.fromId(this.queue, id);
    if (existing) {
      const state = await existing.getState();
      if (state === 'failed') {
        // The caller retried after a failure: give the job another full set of attempts. Job.retry keeps the
        // attempt counters unless told (bullmq 5 RetryOptions resetAttemptsMade / resetAttemptsStarted); kept, the
        // job would start at its old attempt number, with its backoff where the last run left it.
        await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }).catch(() => undefined); // another controller may have retried it first
        return existing;
      }
      if (!(state === 'completed' && opts.fresh)) return existing;
      await existing.remove().catch(() => undefined);
    }
    return this.producer.add(name, data, id);
  }

  /** Fails the waits in progress (the controller is stopping). */
  close(): void {
    this.waiterInstance?.close();
  }

  /** Removes a finished job so a new request under the same id starts afresh. */
  async forget(id: string): Promise<void> {
    const job = await Job.fromId(this.queue, id);
    if (job) await job.remove().catch(() => undefined);
  }

  private toGrpc(name: string, id: string, err: unknown): GrpcError {
    if (err instanceof JobWaitTimeout) return new OperationPending(`${name} ${id}`);
    const text = err instanceof Error ? err.message : String(err);
    const { code, message } = decodeFailure(text);
    const grpcCode = code ? codeFromName(code) : undefined;
    if (grpcCode !== undefined) return new GrpcError(grpcCode, message);
    // Attempts exhausted on transient faults: RDS (or Redis) kept failing.
    return new GrpcError(status.UNAVAILABLE, `${name} failed after all retries: ${message}; the request can be retried`);
  }
}
