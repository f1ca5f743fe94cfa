/**
 * The node-routeros failure modes of docs/ARCHITECTURE.md RouterOS §3, each proven against the simulator over TCP:
 * `!empty`, per-call deadlines, `!fatal` and dropped connections, the idle-timeout 'error', and the circuit breaker.
 */
import { spawn } from 'child_process';
import { isEmptyReplyPatchApplied, RdsError } from '../../src/rds';
import { waitFor } from '../support/wait';
import { startHarness, type Harness } from './support';

const since = (t0: number): number => Date.now() - t0;

function runNode(script: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { cwd: process.cwd() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code, stdout, stderr }));
  });
}

describe('RDS port resilience against the simulator', () => {
  let h: Harness;
  let states: boolean[];
  beforeEach(async () => {
    states = [];
    h = await startHarness({ onState: (up) => states.push(up) });
  });
  afterEach(async () => {
    await h.stop();
  });

  it.each(['7.18', 'legacy'] as const)('a print with no rows resolves empty in %s mode and the connection stays usable', async (emptyMode) => {
    expect(isEmptyReplyPatchApplied()).toBe(true);
    h.sim.faults.set({ emptyMode });
    expect(await h.rds.getDisk('missing')).toBeUndefined();
    expect(await h.rds.getFile('/pool/missing.img')).toBeUndefined();
    expect(await h.rds.listDisks('x')).toEqual([]);
    await h.rds.addDisk({ slot: 'after-empty', filePath: '/pool/after-empty.img', fileSizeBytes: 1048576 });
    expect(await h.rds.getDisk('after-empty')).toMatchObject({ slot: 'after-empty' });
    expect(states).toEqual([true]); // one connection throughout: not deaf, never reconnected
  });

  it('without the adapter, node-routeros 1.6.9 crashes the process on !empty (run in a child process)', async () => {
    // In the jest worker this would be an uncaught exception thrown in the socket data handler, killing the worker,
    // so the unpatched library runs in a separate node process against the same simulator.
    const script = `
      const { RouterOSAPI } = require('node-routeros');
      const api = new RouterOSAPI({ host: '127.0.0.1', port: ${h.sim.port}, user: 'admin', password: 'secret', timeout: 5 });
      api.on('error', () => {});
      api.connect()
        .then(() => api.write('/disk/print', ['?slot=missing']))
        .then((rows) => { console.log('RESOLVED', JSON.stringify(rows)); process.exit(0); }, (e) => { console.log('REJECTED', e.message); process.exit(0); });
      setTimeout(() => { console.log('HUNG'); process.exit(3); }, 4000);
    `;
    // Asynchronous on purpose: the simulator runs in this process and must keep answering.
    const child = await runNode(script);
    expect(child.status).not.toBe(0);
    expect(child.stdout).not.toContain('RESOLVED');
    expect(child.stderr).toContain('Tried to process unknown reply: !empty');
  });

  it('a call slower than callTimeoutMs rejects transient within the deadline; the next call reconnects', async () => {
    const rds = h.make({ callTimeoutMs: 300, onState: (up) => states.push(up) });
    await rds.ping();
    h.sim.faults.set({ latencyMs: 1500 });
    const t0 = Date.now();
    const err = await rds.getDisk('slow').catch((e: unknown) => e);
    expect(since(t0)).toBeLessThan(800);
    expect(err).toBeInstanceOf(RdsError);
    expect(err).toMatchObject({ kind: 'timeout' });
    h.sim.faults.set({ latencyMs: 0 });
    expect(await rds.getDisk('slow')).toBeUndefined();
    expect(states).toEqual([true, false, true]);
  });

  it('!fatal fails every pending call at once, not at their deadlines', async () => {
    const rds = h.make({ callTimeoutMs: 10_000 });
    await rds.ping();
    h.sim.faults.set({ latencyMs: 200 });
    h.sim.faults.fatalNext('simulated fatal error');
    const t0 = Date.now();
    const results = await Promise.allSettled([rds.getDisk('a'), rds.listDisks(), rds.poolCapacity()]);
    expect(since(t0)).toBeLessThan(2000);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ kind: 'unavailable' });
    }
    h.sim.faults.clear();
    await expect(rds.ping()).resolves.toBeUndefined();
  });

  it('a dropped connection fails the pending call and the next call reconnects', async () => {
    const rds = h.make({ callTimeoutMs: 10_000 });
    await rds.ping();
    h.sim.faults.dropNext(1);
    const t0 = Date.now();
    await expect(rds.getDisk('x')).rejects.toMatchObject({ transient: true });
    expect(since(t0)).toBeLessThan(2000);
    expect(await rds.getDisk('x')).toBeUndefined();
  });

  it("an idle timeout ('error' event after login) does not crash the process; the next call reconnects", async () => {
    const rds = h.make({ idleTimeoutSec: 1, onState: (up) => states.push(up) });
    await rds.ping();
    await waitFor(() => states.length >= 2, 10_000, 'the idle timeout to close the connection');
    expect(states).toEqual([true, false]);
    await rds.ping();
    expect(states).toEqual([true, false, true]);
  });

  it('the breaker opens while RDS is down and then answers UNAVAILABLE within 2 s; it closes after RDS is back', async () => {
    const rds = h.make({ breaker: { failureThreshold: 3, openMs: 500 } });
    await rds.ping();
    await h.sim.faults.setDown(true);
    for (let i = 0; i < 3; i++) await expect(rds.ping()).rejects.toMatchObject({ transient: true });
    expect(rds.breaker.state).toBe('open');
    const t0 = Date.now();
    const err = await rds.getDisk('x').catch((e: unknown) => e);
    expect(since(t0)).toBeLessThan(2000);
    expect(err).toMatchObject({ kind: 'unavailable' });
    expect((err as RdsError).message).toMatch(/RDS unreachable at 127\.0\.0\.1:\d+ since .*refused for 1s/);
    await h.sim.faults.setDown(false);
    await new Promise((r) => setTimeout(r, 550));
    await expect(rds.ping()).resolves.toBeUndefined(); // the half-open probe
    expect(rds.breaker.state).toBe('closed');
  });
});
