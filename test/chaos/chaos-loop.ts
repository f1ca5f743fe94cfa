import type { ChaosCluster, Member } from './cluster';
import { untilReachable, type SimAdmin } from './sim-admin';

/**
 * Phase 1: every 1–3 s SIGKILL a random controller or worker and start it again (same name, socket, flags); once
 * (or every `redisEveryS`) SIGKILL Redis and restart it on its AOF, same port. Phase 2: RouterOS faults through the
 * simulator's admin interface, one after another, each for a few seconds. Processes that die on their own are
 * restarted too, and counted as crashes.
 */

export interface KillCounts {
  controller: number;
  worker: number;
  redis: number;
  /** Deaths the loop did not cause. */
  crashes: Array<{ name: string; at: string }>;
  /** Failed restarts (retried until one works). */
  restartFailures: number;
}

export interface FaultStep {
  name: string;
  attrs: Record<string, string | number>;
  /** How long the fault stays on before it is cleared. */
  holdMs: number;
}

/**
 * What the simulator's fault injection (src/simulator/faults.ts) can do, as a sequence. `callTimeoutMs`: the driver's
 * RouterOS call deadline, which the slow replies exceed.
 */
export function faultPlan(callTimeoutMs: number, downMs: number): FaultStep[] {
  return [
    { name: 'drop before command (p=0.2)', attrs: { 'drop-probability': 0.2, 'drop-mode': 'before' }, holdMs: 6000 },
    { name: 'drop after command (p=0.2)', attrs: { 'drop-probability': 0.2, 'drop-mode': 'after' }, holdMs: 6000 },
    { name: `slow replies (${callTimeoutMs + 1500} ms > call deadline)`, attrs: { 'latency-ms': callTimeoutMs + 1500 }, holdMs: 8000 },
    {
      name: '!trap interrupted (category 2) x20',
      attrs: { 'trap-command': '*', 'trap-message': 'interrupted', 'trap-category': 2, 'trap-count': 20 },
      holdMs: 5000,
    },
    { name: '!fatal next command', attrs: { 'fatal-next': 'yes' }, holdMs: 2000 },
    { name: '!fatal next command (again)', attrs: { 'fatal-next': 'yes' }, holdMs: 2000 },
    { name: 'fragmented replies (3-byte writes)', attrs: { 'fragment-bytes': 3 }, holdMs: 6000 },
    { name: `RDS down ${downMs / 1000} s`, attrs: { 'down-for-ms': downMs }, holdMs: downMs + 1000 },
  ];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ChaosLoop {
  readonly kills: KillCounts = { controller: 0, worker: 0, redis: 0, crashes: [], restartFailures: 0 };
  readonly faultLog: Array<{ name: string; at: string }> = [];
  private running = false;
  private loop?: Promise<void>;
  private readonly restarting = new Map<Member, Promise<void>>();

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly log: (msg: string) => void,
  ) {}

  /** Starts (again) until it works: Redis may be down, the machine slow. */
  async restart(m: Member): Promise<void> {
    for (;;) {
      try {
        await this.cluster.start(m);
        return;
      } catch (err) {
        this.kills.restartFailures++;
        this.log(`restart of ${m.name} failed: ${(err as Error).message.split('\n')[0]}`);
        await this.cluster.kill(m);
        await sleep(500);
      }
    }
  }

  async restartRedis(): Promise<void> {
    for (;;) {
      try {
        await this.cluster.startRedis();
        return;
      } catch (err) {
        this.kills.restartFailures++;
        this.log(`redis restart failed: ${(err as Error).message}`);
        await sleep(500);
      }
    }
  }

  /** Phase 1: process kills until stop(). Redis is killed at the given offsets (ms from start). */
  startKills(redisAtMs: number[]): void {
    this.running = true;
    const t0 = Date.now();
    const redisAt = [...redisAtMs];
    this.loop = (async () => {
      while (this.running) {
        await sleep(1000 + Math.random() * 2000);
        if (!this.running) break;
        await this.reviveCrashed();
        if (redisAt.length && Date.now() - t0 >= redisAt[0]) {
          redisAt.shift();
          this.log('SIGKILL redis');
          await this.cluster.killRedis();
          this.kills.redis++;
          await sleep(1000 + Math.random() * 2000);
          await this.restartRedis();
          this.log('redis restarted on its AOF');
          continue;
        }
        // Kill one that is up; its restart runs in the background, so the next kill comes 1–3 s later whatever
        // the restart takes (two members may be down at once).
        const up = this.cluster.members.filter((x) => !this.restarting.has(x) && this.cluster.alive(x));
        if (up.length === 0) continue;
        const m = up[Math.floor(Math.random() * up.length)];
        await this.cluster.kill(m);
        this.kills[m.role]++;
        this.restarting.set(
          m,
          this.restart(m).finally(() => this.restarting.delete(m)),
        );
      }
    })();
  }

  async stopKills(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.all(this.restarting.values());
    await this.reviveCrashed();
  }

  /** Restarts members that died on their own (and members left down). */
  async reviveCrashed(): Promise<void> {
    for (const m of this.cluster.members) {
      if (this.cluster.alive(m) || this.restarting.has(m)) continue;
      if (m.child) {
        this.kills.crashes.push({ name: m.name, at: new Date().toISOString() });
        this.log(`${m.name} died on its own (exit ${m.child.exitCode ?? m.child.signalCode}); restarting`);
      }
      await this.restart(m);
    }
  }

  /** Phase 2: the RouterOS faults one after another; returns when the last one is cleared. */
  async runFaults(admin: SimAdmin, plan: FaultStep[], latencyMs: number, jitterMs: number, untilMs: number): Promise<void> {
    // The whole plan at least once, then again while time is left.
    let first = true;
    do {
      for (const step of plan) {
        if (!first && Date.now() > untilMs) break;
        this.log(`fault: ${step.name}`);
        this.faultLog.push({ name: step.name, at: new Date().toISOString() });
        await untilReachable(() => admin.setFault(step.attrs), 30000);
        await sleep(step.holdMs);
        await untilReachable(() => admin.clearFaults(latencyMs, jitterMs), 60000);
        await this.reviveCrashed();
        await sleep(1500);
      }
      first = false;
    } while (Date.now() < untilMs);
  }
}
