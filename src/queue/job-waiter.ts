import { setTimeout as delay } from 'node:timers/promises';
import { Job, type Queue, type QueueEvents } from 'bullmq';

/**
 * Waits for jobs to finish through one 'completed' and one 'failed' listener on the controller's one QueueEvents,
 * shared by every waiting RPC. bullmq's Job.waitUntilFinished adds three listeners per call, one of them on the
 * shared Queue (`this.queue.on('closing', onFailed)` in dist/cjs/classes/job.js, bullmq 5.81; only a Worker ever
 * emits 'closing'): 11 RPCs waiting at once printed `MaxListenersExceededWarning: 11 closing listeners added to [Queue]`.
 *
 * A wait is registered before its job is added or looked at (`start`), so a finish after that is its event. Whether
 * a finish BEFORE it needs a look depends on the events stream:
 * - flowing (an event arrived since the last connection error): QueueEvents reads on from the last id it saw, kept
 *   across reconnects (consumeEvents' `id` in dist/cjs/classes/queue-events.js, bullmq 5.81), so every event after
 *   that one reaches this process. A job this call added, or whose state `start` read after registering, needs no
 *   second look: that saves a job hash read and a state script per job on the critical path. An add that found a
 *   job already under its id says so in the stream ('duplicated'), and that job is looked at then.
 * - not flowing yet (the first XREAD starts at '$' and may not have run): a job can finish unseen, so the wait looks
 *   at its state, and looks again every LOOK_AGAIN_MS until a look began with the stream flowing. One look is not
 *   enough: QueueEvents.run (dist/cjs/classes/queue-events.js, bullmq 5.81) sends CLIENT SETNAME and only then its
 *   first XREAD from '$', after waitUntilReady has resolved; a job that was still active at the look and finished
 *   in that gap was never seen, and a one-shot `rds-csi volumes detach` waited its whole --wait-ms for it.
 * Should an event still be lost (a Redis failover that dropped the stream), the wait ends at its deadline and the
 * caller's retry reads the job's state: slower, never wrong.
 */

/** How often a wait looks at its job's state while the events stream is not known to be flowing. */
export const LOOK_AGAIN_MS = 250;

export class JobWaitTimeout extends Error {
  constructor(id: string, ms: number) {
    super(`job ${id} timed out before finishing: no finish notification after ${ms} ms`);
    this.name = 'JobWaitTimeout';
  }
}

export type Outcome = { kind: 'completed'; value: unknown } | { kind: 'failed'; reason: string } | { kind: 'timeout' };
type Settle = (o: Outcome) => void;

/** Thrown by wait() when `start` fails: the caller sees start's own error, not a wait outcome. */
class StartFailed {
  constructor(readonly error: unknown) {}
}

export class JobWaiter {
  private readonly waiting = new Map<string, Set<Settle>>();
  /** An event arrived since the start or the last connection error (see above). */
  private flowing = false;

  constructor(
    private readonly queue: Queue,
    private readonly events: QueueEvents,
  ) {
    events.on('added', this.onAdded);
    events.on('duplicated', this.onDuplicated);
    events.on('completed', this.onCompleted);
    events.on('failed', this.onFailed);
    events.on('error', this.onError);
  }

  private readonly onAdded = (): void => {
    this.flowing = true;
  };
  /** An add found a job already under its id (handleDuplicatedJob.lua, bullmq 5.81): it may have finished before. */
  private readonly onDuplicated = ({ jobId }: { jobId: string }): void => {
    this.flowing = true;
    if (!this.waiting.has(jobId)) return;
    this.look(jobId).then(
      (o) => o && this.settle(jobId, o),
      () => undefined,
    );
  };
  private readonly onError = (): void => {
    this.flowing = false;
  };
  private readonly onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }): void => {
    this.flowing = true;
    this.settle(jobId, { kind: 'completed', value: returnvalue });
  };
  private readonly onFailed = ({ jobId, failedReason }: { jobId: string; failedReason: string }): void => {
    this.flowing = true;
    this.settle(jobId, { kind: 'failed', reason: failedReason });
  };

  /** Shutdown: every wait in progress fails at once (UNAVAILABLE to its caller), and the listeners go. */
  close(): void {
    this.events.off('added', this.onAdded);
    this.events.off('duplicated', this.onDuplicated);
    this.events.off('completed', this.onCompleted);
    this.events.off('failed', this.onFailed);
    this.events.off('error', this.onError);
    for (const id of [...this.waiting.keys()]) this.settle(id, { kind: 'failed', reason: 'the controller is shutting down' });
  }

  /**
   * The job's return value, or an Error with its failedReason; JobWaitTimeout after ttlMs. `start` runs once the wait
   * is registered (the add, or the look-up of an existing job); an outcome it returns (a job that had finished)
   * settles the wait, an error it throws is thrown from here as it is.
   */
  async wait(id: string, ttlMs: number, start: () => Promise<Outcome | undefined> = () => Promise.resolve(undefined)): Promise<unknown> {
    let settle: Settle = () => undefined;
    const outcome = new Promise<Outcome>((resolve) => (settle = resolve));
    let timer: NodeJS.Timeout | undefined;
    const set = this.waiting.get(id) ?? new Set<Settle>();
    this.waiting.set(id, set);
    set.add(settle);
    const flowing = this.flowing;
    let done = false;
    try {
      timer = setTimeout(() => settle({ kind: 'timeout' }), ttlMs);
      const found = await start().catch((err: unknown) => new StartFailed(err));
      if (found instanceof StartFailed) throw found.error;
      if (found) settle(found);
      // A failed lookup (Redis away) leaves the event or the timeout to settle the wait.
      if (!found && !flowing) void this.lookUntilFlowing(id, settle, () => done);
      const o = await outcome;
      done = true;
      if (o.kind === 'completed') return o.value;
      throw o.kind === 'timeout' ? new JobWaitTimeout(id, ttlMs) : new Error(o.reason);
    } finally {
      done = true;
      clearTimeout(timer);
      set.delete(settle);
      if (!set.size && this.waiting.get(id) === set) this.waiting.delete(id);
    }
  }

  private settle(id: string, o: Outcome): void {
    for (const s of this.waiting.get(id) ?? []) s(o);
  }

  /**
   * Looks at the job until it has finished or a look began with the stream flowing (every finish after that look is
   * an event), or the wait is over; never throws (a failed look leaves the event or the deadline to settle the wait).
   */
  private async lookUntilFlowing(id: string, settle: Settle, over: () => boolean): Promise<void> {
    while (!over()) {
      const flowingBefore = this.flowing;
      const o = await this.look(id).catch(() => undefined);
      if (o) return settle(o);
      if (flowingBefore) return;
      await delay(LOOK_AGAIN_MS);
    }
  }

  /** The outcome of a job that has already finished, once the events stream is listening: its state, then its hash. */
  private async look(id: string): Promise<Outcome | undefined> {
    await this.events.waitUntilReady();
    return finishedOutcome(this.queue, id, await this.queue.getJobState(id));
  }
}

/** The outcome of job `id` in `state` when that state is final (one read of the job's hash), else undefined. */
export async function finishedOutcome(queue: Queue, id: string, state: string): Promise<Outcome | undefined> {
  if (state !== 'completed' && state !== 'failed') return undefined;
  const job = await Job.fromId(queue, id);
  if (!job) return undefined;
  return state === 'completed' ? { kind: 'completed', value: job.returnvalue } : { kind: 'failed', reason: job.failedReason };
}
