/**
 * Entry of the simulator's own process (forked by sim-process.ts): startSimulator() plus a tiny IPC protocol, so
 * the simulator is reached over loopback from another process by the worker and by the direct baseline alike.
 */
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { Mutex } from '../../src/simulator/util/mutex';

/**
 * The simulator runs every model operation (each /disk and /file command) under one FIFO lock, so the sum of the
 * time that lock is held bounds how fast it can answer however many commands run at once. Measured by wrapping
 * Mutex.run in this process only.
 */
export interface LockStats {
  /** Operations that held the lock. */
  count: number;
  /** Total time the lock was held, ms. */
  heldMs: number;
  maxHeldMs: number;
  /** Total time operations waited for the lock, ms. */
  waitedMs: number;
}

let lock: LockStats = { count: 0, heldMs: 0, maxHeldMs: 0, waitedMs: 0 };
const originalRun = Mutex.prototype.run; // eslint-disable-line @typescript-eslint/unbound-method -- rebound below with call()
Mutex.prototype.run = function <T>(this: Mutex, fn: () => Promise<T> | T): Promise<T> {
  const asked = performance.now();
  return originalRun.call(this, async () => {
    const got = performance.now();
    lock.waitedMs += got - asked;
    try {
      return await fn();
    } finally {
      const held = performance.now() - got;
      lock.count++;
      lock.heldMs += held;
      lock.maxHeldMs = Math.max(lock.maxHeldMs, held);
    }
  }) as Promise<T>;
};

export interface SimRequest {
  id: number;
  /** lock: LockStats since the previous `lock` request. */
  op: 'stats' | 'latency' | 'lock' | 'close';
  latencyMs?: number;
}

export interface SimReply {
  id?: number;
  ready?: { port: number };
  result?: unknown;
  error?: string;
}

function send(msg: SimReply): void {
  process.send?.(msg);
}

async function main(): Promise<void> {
  const [dataDir, user, password, latency] = process.argv.slice(2);
  const sim: RunningSimulator = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    user,
    password,
    faults: { latencyMs: Number(latency), jitterMs: 0 },
  });
  process.on('message', (m: SimRequest) => {
    const answer = async (): Promise<unknown> => {
      switch (m.op) {
        case 'stats':
          return sim.stats();
        case 'lock': {
          const out = lock;
          lock = { count: 0, heldMs: 0, maxHeldMs: 0, waitedMs: 0 };
          return out;
        }
        case 'latency':
          sim.faults.set({ latencyMs: m.latencyMs ?? 0, jitterMs: 0 });
          return null;
        case 'close':
          await sim.close();
          return null;
      }
    };
    answer().then(
      (result) => {
        send({ id: m.id, result });
        if (m.op === 'close') process.disconnect();
      },
      (err: Error) => send({ id: m.id, error: err.message }),
    );
  });
  // The parent went away: nothing left to serve.
  process.on('disconnect', () => process.exit(0));
  send({ ready: { port: sim.port } });
}

main().catch((err: Error) => {
  process.stderr.write(`bench simulator: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
