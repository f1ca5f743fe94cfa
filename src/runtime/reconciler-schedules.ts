import type { Logger } from '../log/logger';
import type { JobProducer } from '../queue/producer';

/**
 * The reconcilers' job schedulers, kept in step with this worker's configuration for as long as it runs.
 *
 * A job scheduler is one Redis entity cluster-wide, and every worker writes the ones its configuration names. While
 * a change of the backends list rolls out, workers of the old and the new configuration run side by side and undo
 * each other: a new worker adds `reconcile.orphans@B` and an old one that (re)starts removes it again, or the other
 * way round. Done only at start-up, the last worker to start won for good: after the rollout an added backend could
 * be left without orphan detection, or a removed one keep a scheduler whose runs all fail ("job names no configured
 * backend"; scheduled runs are kept on failure), until some worker restarted. So every worker also re-applies its
 * configuration every tick: once only new workers are left, the schedulers match the new configuration within one
 * tick. During the rollout they may flap (each re-created scheduler runs at once, as an `every` scheduler without a
 * start date does); that ends with the rollout.
 */

/**
 * How often each worker re-applies its schedulers: 5 minutes. Short against the orphan reconciler's default interval
 * (1 h), so an added backend's scheduler is back well before its run would have come, and a removed backend's
 * scheduler is gone within 5 minutes of the rollout's end, before RdsCsiJobsFailing's 15-minute `for`
 * (helm/files/prometheus-rules.yaml) can fire on its failed runs. A tick costs a few Lua calls per worker.
 */
export const SCHEDULE_TICK_MS = 5 * 60_000;

/** The schedulers one configuration wants. */
export interface SchedulePlan {
  orphansEveryMs: number;
  attachmentsEveryMs: number;
  /** The extra RDS backends (issue 16): one `reconcile.orphans@<name>` each. The primary's carry the bare name. */
  extraBackends: readonly string[];
}

/**
 * Upserts the plan's schedulers and removes the extra-backend orphan schedulers it does not name (never the
 * primary's). Run at start-up and at every tick; `alive` is asked before each step, so a worker that is closing
 * makes no further Redis call. Returns the schedulers removed.
 *
 * Re-upserting an unchanged scheduler is safe to do often: bullmq's Queue.upsertJobScheduler (classes/queue.js) goes
 * to JobScheduler.upsertJobScheduler (classes/job-scheduler.js, `override: true`) and the addJobScheduler Lua script
 * (commands/addJobScheduler-11.lua): with the same `every`, the pending run (delayed or waiting) is removed and added
 * again under the same id at the same time (`nextMillis = prevMillis` when `removedPrevJob`); so there is still one
 * pending run and its time does not move, however short the tick. (A changed `every` resets it to now.) If the run
 * is already active, the script adds the next one, where the worker's own update after taking the run finds it and
 * adds none (updateJobScheduler-12.lua: the producer id no longer matches).
 */
export async function syncSchedules(producer: JobProducer, plan: SchedulePlan, alive: () => boolean = () => true): Promise<string[]> {
  const steps: (() => Promise<unknown>)[] = [
    () => producer.schedule('reconcile.orphans', plan.orphansEveryMs),
    ...plan.extraBackends.map((b) => () => producer.schedule('reconcile.orphans', plan.orphansEveryMs, b)),
    () => producer.schedule('reconcile.attachments', plan.attachmentsEveryMs),
  ];
  for (const step of steps) {
    if (!alive()) return [];
    await step();
  }
  if (!alive()) return [];
  return producer.unscheduleOtherBackends('reconcile.orphans', plan.extraBackends);
}

export interface ScheduleKeeper {
  /** Stops the ticks; resolves once a tick in flight has ended (its next step makes no Redis call). */
  stop(): Promise<void>;
}

/**
 * Runs syncSchedules every `tickMs` until stopped. The timer is unref'd (it never keeps the process alive); ticks do
 * not overlap; a failed tick (Redis away) is a warning and the next tick tries again.
 */
export function keepSchedulesInStep(producer: JobProducer, plan: SchedulePlan, log: Logger, tickMs = SCHEDULE_TICK_MS): ScheduleKeeper {
  let stopped = false;
  let inFlight: Promise<void> | undefined;
  const alive = (): boolean => !stopped;
  const tick = (): void => {
    if (inFlight || stopped) return;
    inFlight = syncSchedules(producer, plan, alive)
      .then(
        (stale) => {
          if (stale.length) log.info({ schedulers: stale }, 'removed the orphan reconcilers of backends no longer configured');
        },
        (err: unknown) => {
          if (!stopped)
            log.warn(
              { err: err instanceof Error ? err.message : String(err) },
              'could not bring the reconcilers’ job schedulers in step; next try in one tick',
            );
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
  };
  const timer = setInterval(tick, tickMs);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}
