/** Throughput pacing: lets simulated work take the time a device of a given speed would need. */
import { sleep } from './sleep';

/**
 * Waits until `bytes` would have gone through at `rate()` bytes per second since `startMs` (so time already
 * spent on the real work counts). The rate is re-read every `tickMs`: a change applies to work in flight, and a
 * rate ≤ 0 ends the wait at once. Resolves `false` when `signal` aborts, `true` otherwise.
 */
export async function paceBytes(bytes: number, rate: () => number, startMs: number, signal?: AbortSignal, tickMs = 50): Promise<boolean> {
  let credited = 0;
  let last = startMs;
  for (;;) {
    if (signal?.aborted) return false;
    const r = rate();
    if (r <= 0) return true;
    const now = Date.now();
    credited += ((now - last) / 1000) * r;
    last = now;
    if (credited >= bytes) return true;
    const wait = Math.max(1, Math.min(tickMs, Math.ceil(((bytes - credited) / r) * 1000)));
    if (!(await sleep(wait, signal))) return false;
  }
}
