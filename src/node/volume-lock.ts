import { aborted } from '../domain/failure';

/**
 * Per-volume mutex inside the node process. kubelet may retry a slow NodeStage while the first is still running,
 * or call Unpublish while Publish runs; only one operation per volume runs at a time. A call that finds the volume
 * busy waits up to `waitMs` and then answers ABORTED, so kubelet retries later instead of piling up.
 */
export class VolumeLocks {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly waitMs: number) {}

  isBusy(volumeId: string): boolean {
    return this.tails.has(volumeId);
  }

  async run<T>(volumeId: string, fn: () => Promise<T>, waitMs = this.waitMs): Promise<T> {
    const prev = this.tails.get(volumeId);
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = (prev ?? Promise.resolve()).then(() => mine);
    this.tails.set(volumeId, tail);
    // The entry goes away when the whole chain up to us has finished, not when we give up waiting.
    void tail.then(() => {
      if (this.tails.get(volumeId) === tail) this.tails.delete(volumeId);
    });
    const done = (): void => release();
    if (prev) {
      let timer: NodeJS.Timeout | undefined;
      const gotIt = await Promise.race([
        prev.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), Math.max(0, waitMs)))),
      ]);
      clearTimeout(timer);
      if (!gotIt) {
        // Our slot stays in the chain but is released at once, so later callers do not wait for us.
        done();
        throw aborted(`an operation on volume ${volumeId} is still in progress; retry later`);
      }
    }
    try {
      return await fn();
    } finally {
      done();
    }
  }

  /** Run only if the volume is idle right now; undefined when it is busy (used by the orphan cleaner). */
  async tryRun<T>(volumeId: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (this.tails.has(volumeId)) return undefined;
    return this.run(volumeId, fn, 0);
  }
}
