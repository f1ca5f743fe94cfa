import { WireClient } from '../support/wire-client';
import { SIM_PASSWORD, SIM_USER } from './cluster';

/**
 * The simulator's admin interface (src/simulator/admin.ts) and its `/disk` table over the wire, with a RouterOS
 * client of the tests' own (test/support/wire-client.ts), never through the driver.
 *
 * One connection, logged in while no fault is on and kept: admin commands are never subject to faults, but a login
 * is (a `*` trap traps it, `fatal-next` answers it, slow replies delay it), so a fresh login could not clear the
 * fault that blocks it. Only `down` closes the connection; the next call logs in again.
 */
export class SimAdmin {
  private conn?: WireClient;
  private tag = 0;

  constructor(private readonly port: number) {}

  private async connection(): Promise<WireClient> {
    if (this.conn && !this.conn.isClosed) return this.conn;
    this.conn?.close();
    const c = await WireClient.connect(this.port);
    try {
      const r = await c.call(['/login', `=name=${SIM_USER}`, `=password=${SIM_PASSWORD}`], 'login', 20000);
      if (r.length !== 1 || r[0][0] !== '!done') throw new Error(`login failed: ${JSON.stringify(r)}`);
    } catch (err) {
      c.close();
      throw err;
    }
    this.conn = c;
    return c;
  }

  async call(words: string[], timeoutMs = 10000): Promise<Array<Record<string, string>>> {
    const c = await this.connection();
    const reply = await c.call(words, `a${this.tag++}`, timeoutMs);
    const trap = reply.find((s) => s[0] === '!trap' || s[0] === '!fatal');
    if (trap) throw new Error(`${words[0]}: ${trap.join(' ')}`);
    return WireClient.rows(reply);
  }

  /** `/simulator/fault/set` with `=k=v` attributes. */
  async setFault(attrs: Record<string, string | number>): Promise<void> {
    await this.call(['/simulator/fault/set', ...Object.entries(attrs).map(([k, v]) => `=${k}=${v}`)]);
  }

  /** Back to no faults, keeping the base latency that keeps jobs in flight. */
  async clearFaults(latencyMs: number, jitterMs: number): Promise<void> {
    await this.call(['/simulator/fault/clear']);
    await this.setFault({ 'latency-ms': latencyMs, 'jitter-ms': jitterMs });
  }

  close(): void {
    this.conn?.close();
    this.conn = undefined;
  }
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
