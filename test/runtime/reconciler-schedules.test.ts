import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { removeDirSafely } from '../../src/host/safe-remove';
import { createLogger } from '../../src/log/logger';
import { closeRedis } from '../../src/queue/close-redis';
import { redisConnection, redisTargetFromConfig } from '../../src/queue/connection';
import { JobProducer } from '../../src/queue/producer';
import { keepSchedulesInStep } from '../../src/runtime/reconciler-schedules';
import { startWorker, type WorkerApp } from '../../src/runtime/worker-app';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { fastTestSettings } from '../support/controller-harness';
import { startRedis, type TestRedis } from '../support/redis';
import { waitFor } from '../support/wait';

/**
 * A rolling change of the backends list: workers of the old and the new configuration side by side, real workers on
 * a real Redis, two simulators (the primary and the extra backend `b`). An old worker that (re)starts after a new
 * one undoes its schedulers; once it is gone (the rollout over), the new workers' tick brings the schedulers to the
 * new configuration within one tick. With start-up only (a tick that never comes in time) they stay wrong.
 */
const TICK_MS = 400;
const NEVER_MS = 3_600_000;
const BASE = ['reconcile.attachments', 'reconcile.orphans'];

describe('the reconcilers’ job schedulers during a rolling change of the backends list', () => {
  let dir: string;
  let redis: TestRedis;
  let conn: Redis;
  let simA: RunningSimulator;
  let simB: RunningSimulator;
  let n = 0;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-schedules-'));
    redis = await startRedis();
    conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const sim = (name: string): Promise<RunningSimulator> =>
      startSimulator({ host: '127.0.0.1', port: 0, dataDir: path.join(dir, name), user: 'admin', password: 'secret' });
    [simA, simB] = await Promise.all([sim('a'), sim('b')]);
  });
  afterAll(async () => {
    conn.disconnect();
    await Promise.all([simA.close(), simB.close()]);
    await redis.stop();
    removeDirSafely(dir);
  });

  const cfgWith = (prefix: string, extras: readonly string[]): Config =>
    loadConfig(
      {
        redisUrl: redis.url,
        ...fastTestSettings(simA),
        queuePrefix: prefix,
        logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
        ...(extras.length
          ? {
              backends: JSON.stringify(
                extras.map((name) => ({ name, host: simB.host, port: simB.port, password: 'secret', callTimeoutMs: 2000, connectTimeoutMs: 1000 })),
              ),
            }
          : {}),
      },
      {},
    );
  const schedulers = async (producer: JobProducer): Promise<string[]> => (await producer.queue.getJobSchedulers()).map((s) => s.key).sort();
  const wanted = (extras: readonly string[]): string[] => [...BASE, ...extras.map((b) => `reconcile.orphans@${b}`)].sort();

  it.each([
    { change: 'adding b', before: [], after: ['b'], tickMs: TICK_MS, converges: true },
    { change: 'removing b', before: ['b'], after: [], tickMs: TICK_MS, converges: true },
    { change: 'adding b, start-up only', before: [], after: ['b'], tickMs: NEVER_MS, converges: false },
    { change: 'removing b, start-up only', before: ['b'], after: [], tickMs: NEVER_MS, converges: false },
  ])('$change: an old worker restarting after a new one; once it is gone: converged $converges', async ({ before, after, tickMs, converges }) => {
    const prefix = `roll${++n}`;
    const producer = new JobProducer(conn, prefix, { attempts: 1, backoffMs: 100 });
    const open: WorkerApp[] = [];
    const start = async (extras: readonly string[]): Promise<WorkerApp> => {
      const cfg = cfgWith(prefix, extras);
      const w = await startWorker(cfg, createLogger(cfg.logLevel), { scheduleTickMs: tickMs });
      open.push(w);
      return w;
    };
    try {
      await start(after);
      const old = await start(before);
      // The old worker's start-up undid the new one's: the problem (with a short tick the new one may already be back).
      if (tickMs === NEVER_MS) expect(await schedulers(producer)).toEqual(wanted(before));
      await old.close();
      open.splice(open.indexOf(old), 1);
      if (converges) {
        await waitFor(
          async () => JSON.stringify(await schedulers(producer)) === JSON.stringify(wanted(after)),
          tickMs + 1500,
          'the new configuration',
        );
      } else {
        await new Promise((r) => setTimeout(r, 3 * TICK_MS));
        expect(await schedulers(producer)).toEqual(wanted(before));
      }
    } finally {
      for (const w of open) await w.close();
      await producer.close();
    }
  });

  it('a failed tick (Redis away) is a warning and the next tick tries again; after stop, no tick', async () => {
    const other = await startRedis();
    const cfg = { ...cfgWith('away', []), redisUrl: other.url };
    const fast = redisConnection(redisTargetFromConfig(cfg), 'fast');
    const producer = new JobProducer(fast, cfg.queuePrefix, cfg.worker);
    producer.queue.on('error', () => undefined);
    const warnings: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        warnings.push(String(chunk));
        done();
      },
    });
    const keeper = keepSchedulesInStep(
      producer,
      { orphansEveryMs: 60000, attachmentsEveryMs: 60000, extraBackends: ['b'] },
      createLogger('warn', 't', sink),
      100,
    );
    try {
      await waitFor(async () => (await schedulers(producer)).length === 3, 3000, 'a first tick');
      await other.stop();
      await waitFor(() => warnings.length >= 2, 15000, 'two failed ticks');
      expect(warnings[0]).toMatch(/could not bring the reconcilers’ job schedulers in step/);
    } finally {
      await keeper.stop();
    }
    const seen = warnings.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(warnings.length).toBe(seen);
    await producer.close().catch(() => undefined);
    closeRedis(fast);
  });
});
