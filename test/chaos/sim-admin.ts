import { WireClient } from '../support/wire-client';
import { SIM_PASSWORD, SIM_USER } from './cluster';

/**
 * The simulator's admin interface (src/simulator/admin.ts) and its `/disk` table over the wire, with a RouterOS
 * client of the tests' own (test/support/wire-client.ts), never through the driver. One connection per call: the
 * faults under test close connections.
 */
export async function simCall(port: number, words: string[], timeoutMs = 5000): Promise<Array<Record<string, string>>> {
  const c = await WireClient.connect(port);
  try {
    await c.login(SIM_USER, SIM_PASSWORD);
    const reply = await c.call(words, 'a', timeoutMs);
    const trap = reply.find((s) => s[0] === '!trap' || s[0] === '!fatal');
    if (trap) throw new Error(`${words[0]}: ${trap.join(' ')}`);
    return WireClient.rows(reply);
  } finally {
    c.close();
  }
}

/** `/simulator/fault/set` with `=k=v` attributes. */
export async function setFault(port: number, attrs: Record<string, string | number>): Promise<void> {
  await simCall(port, ['/simulator/fault/set', ...Object.entries(attrs).map(([k, v]) => `=${k}=${v}`)]);
}

/** Back to no faults, keeping the base latency that keeps jobs in flight. */
export async function clearFaults(port: number, latencyMs: number, jitterMs: number): Promise<void> {
  await simCall(port, ['/simulator/fault/clear']);
  await setFault(port, { 'latency-ms': latencyMs, 'jitter-ms': jitterMs });
}

/** Retries `fn` while the simulator is unreachable (down, restarting), up to `timeoutMs`. */
export async function untilReachable<T>(fn: () => Promise<T>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
