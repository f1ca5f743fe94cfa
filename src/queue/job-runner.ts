import { Job, type Queue, type QueueEvents } from 'bullmq';
import { Failure } from '../domain/failure';
import { codeFromName, kindOfStatus } from '../grpc/errors';
import { decodeJobFailure, isLegacyFailure } from './failure-codec';
import { type JobData, type JobName, type JobResult } from './jobs';
import { JobWaiter, JobWaitTimeout, finishedOutcome, type Outcome } from './job-waiter';
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
   * No earlier job can have this id (its generation was claimed by this very call): add without looking first, and
   * (once the events stream is flowing) await its finish event without a look-up either. A concurrent add of the
   * same id still dedupes in Redis.
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
    if (waitMs <= 0) {
      await this.findOrAdd(name, id, data, opts);
      throw new OperationPending(`${name} ${id}`);
    }
    // The wait is registered before the add or look-up (job-waiter.ts), so the job's own finish event settles it;
    // an error of the add itself reaches the caller as it is, as before.
    let addFailed = false;
    const start = (): Promise<Outcome | undefined> =>
      this.findOrAdd(name, id, data, opts).catch((err: unknown) => {
        addFailed = true;
        throw err;
      });
    try {
      return (await this.waiter.wait(id, waitMs, start)) as JobResult<N>;
    } catch (err) {
      if (addFailed) throw err;
      throw this.toFailure(name, id, err);
    }
  }

  /**
   * Adds the job, or finds the one under its id: one state script for an id that may exist (none for a new one),
   * then only what the state calls for. Returns the outcome of a job that had already finished (and is not re-run).
   */
  private async findOrAdd<N extends JobName>(name: N, id: string, data: JobData<N>, opts: RunOptions): Promise<Outcome | undefined> {
    if (opts.newId) {
      await this.producer.add(name, data, id);
      return undefined;
    }
    const state = await this.queue.getJobState(id);
    if (state === 'failed') {
      const existing = await Job.fromId(this.queue, id);
      if (existing) {
        // The caller retried after a failure: give the job another full set of attempts. Job.retry keeps the
        // attempt counters unless told (bullmq 5 RetryOptions resetAttemptsMade / resetAttemptsStarted); kept, the
        // job would start at its old attempt number, with its backoff where the last run left it.
        await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true }).catch(() => undefined); // another controller may have retried it first
        return undefined;
      }
    } else if (state === 'completed') {
      if (opts.fresh) {
        await this.queue.remove(id).catch(() => 0);
      } else {
        const done = await finishedOutcome(this.queue, id, state);
        if (done) return done;
      }
    } else if (state !== 'unknown') {
      return undefined; // waiting, active, delayed, prioritized: its finish is an event
    }
    // A concurrent add of the same id keeps the first job (BullMQ dedupes by id).
    await this.producer.add(name, data, id);
    return undefined;
  }

  /** Fails the waits in progress (the controller is stopping). */
  close(): void {
    this.waiterInstance?.close();
  }

  /** Removes a finished job so a new request under the same id starts afresh. */
  async forget(id: string): Promise<void> {
    await this.queue.remove(id).catch(() => 0);
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
