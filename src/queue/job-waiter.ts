import { Job, type Queue, type QueueEvents } from 'bullmq';

/**
 * Waits for jobs to finish through one 'completed' and one 'failed' listener on QueueEvents, shared by every
 * waiting RPC. bullmq's Job.waitUntilFinished adds three listeners per call, one of them on the shared Queue
 * (`this.queue.on('closing', onFailed)` in dist/cjs/classes/job.js, bullmq 5.81; only a Worker ever emits
 * 'closing'): 11 RPCs waiting at once printed `MaxListenersExceededWarning: 11 closing listeners added to [Queue]`.
 * Like waitUntilFinished, it listens before it looks: a job that finished before the wait began is found by its
 * state, one that finishes afterwards by its event.
 */

export class JobWaitTimeout extends Error {
  constructor(id: string, ms: number) {
    super(`job ${id} timed out before finishing: no finish notification after ${ms} ms`);
    this.name = 'JobWaitTimeout';
  }
}

type Outcome = { kind: 'completed'; value: unknown } | { kind: 'failed'; reason: string } | { kind: 'timeout' };
type Settle = (o: Outcome) => void;

export class JobWaiter {
  private readonly waiting = new Map<string, Set<Settle>>();

  constructor(
    private readonly queue: Queue,
    private readonly events: QueueEvents,
  ) {
    events.on('completed', this.onCompleted);
    events.on('failed', this.onFailed);
  }

  private readonly onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }): void =>
    this.settle(jobId, { kind: 'completed', value: returnvalue });
  private readonly onFailed = ({ jobId, failedReason }: { jobId: string; failedReason: string }): void =>
    this.settle(jobId, { kind: 'failed', reason: failedReason });

  /** Shutdown: every wait in progress fails at once (UNAVAILABLE to its caller), and the listeners go. */
  close(): void {
    this.events.off('completed', this.onCompleted);
    this.events.off('failed', this.onFailed);
    for (const id of [...this.waiting.keys()]) this.settle(id, { kind: 'failed', reason: 'the controller is shutting down' });
  }

  /** The job's return value, or an Error with its failedReason; JobWaitTimeout after ttlMs. */
  async wait(id: string, ttlMs: number): Promise<unknown> {
    let settle: Settle = () => undefined;
    const outcome = new Promise<Outcome>((resolve) => (settle = resolve));
    let timer: NodeJS.Timeout | undefined;
    const set = this.waiting.get(id) ?? new Set<Settle>();
    this.waiting.set(id, set);
    set.add(settle);
    try {
      timer = setTimeout(() => settle({ kind: 'timeout' }), ttlMs);
      // A failed lookup (Redis away) leaves the event or the timeout to settle the wait.
      this.look(id).then(
        (o) => o && settle(o),
        () => undefined,
      );
      const o = await outcome;
      if (o.kind === 'completed') return o.value;
      throw o.kind === 'timeout' ? new JobWaitTimeout(id, ttlMs) : new Error(o.reason);
    } finally {
      clearTimeout(timer);
      set.delete(settle);
      if (!set.size && this.waiting.get(id) === set) this.waiting.delete(id);
    }
  }

  private settle(id: string, o: Outcome): void {
    for (const s of this.waiting.get(id) ?? []) s(o);
  }

  /** The outcome of a job that has already finished, once the events stream is listening. */
  private async look(id: string): Promise<Outcome | undefined> {
    await this.events.waitUntilReady();
    const job = await Job.fromId(this.queue, id);
    if (!job) return undefined;
    const state = await job.getState();
    if (state !== 'completed' && state !== 'failed') return undefined;
    const done = (await Job.fromId(this.queue, id)) ?? job;
    return state === 'completed' ? { kind: 'completed', value: done.returnvalue } : { kind: 'failed', reason: done.failedReason };
  }
}
