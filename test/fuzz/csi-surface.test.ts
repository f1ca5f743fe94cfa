import fc from 'fast-check';
import { describeRoot } from '../node/support';
import { planArb, type Plan } from './arbitraries';
import { startFuzzEnv, type FuzzEnv } from './env';
import { Runner } from './run';

/**
 * Property-based fuzzing of every CSI RPC against the real controller + worker (redis-server, simulator over TCP)
 * and the real node plugin (loop connector). CI runs FUZZ_RUNS cases (default 300) within FUZZ_TIME_MS (default
 * 50 s); `npm run test:fuzz` runs more. A failure prints its seed: FUZZ_SEED=<seed> replays it. FUZZ_COLLECT=1
 * records every failure instead of stopping at the first (a survey, no shrinking).
 */

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const numRuns = Number(process.env.FUZZ_RUNS ?? 300);
const timeMs = Number(process.env.FUZZ_TIME_MS ?? 50000);
const collect = process.env.FUZZ_COLLECT === '1';

describeRoot('CSI surface fuzz (fast-check)', () => {
  let env: FuzzEnv;
  let runner: Runner;
  beforeAll(async () => {
    env = await startFuzzEnv();
    runner = new Runner(env);
  }, 120000);
  afterAll(async () => {
    runner?.close();
    await env?.stop();
  }, 120000);

  it(
    `answers every request with a documented code and changes nothing it does not own (FUZZ_SEED=${seed})`,
    async () => {
      process.stdout.write(`csi fuzz: FUZZ_SEED=${seed} FUZZ_RUNS=${numRuns} FUZZ_TIME_MS=${timeMs}\n`);
      const survey = new Map<string, string>();
      let ran = 0;
      const property = fc.asyncProperty(planArb, async (plan: Plan) => {
        ran++;
        const failures = await runner.check(plan);
        if (!failures.length) return;
        await env.restore().catch((err: Error) => process.stdout.write(`csi fuzz: sentinels not restored: ${err.message}\n`));
        const text = `${failures.join('\n')}\n  request: ${JSON.stringify(runner.resolve(plan)).slice(0, 600)}`;
        if (!collect) throw new Error(text);
        survey.set(`${plan.rpc}: ${failures[0]?.replace(/\d+/g, 'N').slice(0, 90)}`, text);
      });
      try {
        await fc.assert(property, { seed, numRuns, interruptAfterTimeLimit: timeMs, markInterruptAsFailure: false });
      } finally {
        process.stdout.write(
          `csi fuzz: ${ran} requests run (seed ${seed}), ${runner.volumes.length} volumes and ${runner.snapshots.length} snapshots created, ${env.seen.logLines} log lines and ${env.seen.redisCommands} Redis commands watched\n`,
        );
      }
      const inRedis = await env.secretsInRedis();
      const leaks = [...env.leaks, ...inRedis.map((k) => `secret in Redis key ${k}`)];
      const found = [...survey.values(), ...leaks];
      if (found.length) process.stdout.write(`csi fuzz failures (seed ${seed}):\n${found.join('\n---\n')}\n`);
      expect(found).toEqual([]);
      expect(env.seen.logLines).toBeGreaterThan(0);
      expect(env.seen.redisCommands).toBeGreaterThan(0);
    },
    timeMs + 120000,
  );
});
