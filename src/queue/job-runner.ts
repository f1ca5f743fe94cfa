import { Job, type Queue, type QueueEvents } from 'bullmq';
import { Failure } from '../domain/failure';
import { codeFromName, kindOfStatus } from '../grpc/errors';
import { decodeJobFailure, isLegacyFailure } from './failure-codec';
import { type JobData, type JobName, type JobResult } from './jobs';
import { JobWaiter, JobWaitTimeout } from './job-waiter';
import type { JobProducer } from './producer';

/**
 * Enqueue-and-await for the API: add a job under its deterministic id (or find the one already there), then wait
 * for its result until `waitMs`. A job still running answers ABORTED so the sidecar retries the same request; a
 * failed job answers with the CSI code its processor recorded and is retried on the caller's next attempt.
 */

export class OperationPending extends Failure {
  constructor(what: string) {
    super('aborted', `${what} is still in progress; retry the same request`);
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
      throw this.toFailure(name, id, err);
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

  /**
   * The failure a job ended with: the kind its worker recorded (failure-codec.ts), the gRPC code an older worker
   * recorded (mapped back to its kind here, with the edge's one table), or UNAVAILABLE when the attempts ran out on
   * transient faults.
   */
  private toFailure(name: string, id: string, err: unknown): Failure {
    if (err instanceof JobWaitTimeout) return new OperationPending(`${name} ${id}`);
    const text = err instanceof Error ? err.message : String(err);
    const recorded = decodeJobFailure(text);
    if (recorded && !isLegacyFailure(recorded)) return new Failure(recorded.kind, recorded.message);
    const legacyCode = recorded ? codeFromName(recorded.code) : undefined;
    const legacyKind = legacyCode === undefined ? undefined : kindOfStatus(legacyCode);
    if (recorded && legacyKind) return new Failure(legacyKind, recorded.message);
    // Attempts exhausted on transient faults: RDS (or Redis) kept failing.
    return new Failure('unavailable', `${name} failed after all retries: ${recorded?.message ?? text}; the request can be retried`);
  }
}
