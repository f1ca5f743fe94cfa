/**
 * Spreads the starts of a burst of RPCs over event-loop turns, in arrival order: at most `perTurn` handlers start
 * in one turn, the others wait for the next (setImmediate), first come first started.
 *
 * Why: grpc-js hands a burst of requests that arrived together (500 CreateVolume from a provisioner catching up) to
 * the handlers in one run of the microtask queue, so every handler ran its synchronous part and sent its first
 * Redis command before the process read a single Redis reply: no request reached its job add until the last one had
 * been validated and claimed (issue 14's storm: the worker idle for the first 0.4 s). Between two turns the event
 * loop polls I/O, so the replies of the requests started in one turn are read, and their jobs added, before the next
 * `perTurn` requests start. A request is only delayed by the turns ahead of it, never refused and never answered
 * differently; with no burst (fewer than `perTurn` starts in a turn) a handler starts at once, as before.
 *
 * Bounded: at most `maxWaiting` requests wait; beyond that a handler starts at once (a burst larger than any
 * sidecar sends is handled as before, not queued without limit).
 */
export class StartPacer {
  private startedThisTurn = 0;
  private readonly waiting: Array<() => void> = [];
  private turnScheduled = false;

  constructor(
    private readonly perTurn: number,
    private readonly maxWaiting = 10000,
  ) {
    if (!Number.isInteger(perTurn) || perTurn < 1) throw new Error(`StartPacer: perTurn must be a positive integer, got ${perTurn}`);
  }

  /** Runs `start` now, or in a later turn when this turn's starts are used up (or earlier requests still wait). */
  run(start: () => void): void {
    if ((this.waiting.length === 0 && this.startedThisTurn < this.perTurn) || this.waiting.length >= this.maxWaiting) {
      this.startedThisTurn++;
      this.scheduleTurn();
      start();
      return;
    }
    this.waiting.push(start);
    this.scheduleTurn();
  }

  /** Requests waiting for a later turn (for tests and diagnostics). */
  get pending(): number {
    return this.waiting.length;
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(this.nextTurn);
  }

  private readonly nextTurn = (): void => {
    this.turnScheduled = false;
    const batch = this.waiting.splice(0, this.perTurn);
    this.startedThisTurn = batch.length;
    if (batch.length > 0) this.scheduleTurn();
    for (const start of batch) start();
  };
}
