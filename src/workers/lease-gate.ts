import type { RdsPort } from '../rds/port';
import type { JobSteps } from './context';

/**
 * A job that looks at RDS while its lease is being taken (worker-host.ts LOOK_WHILE_TAKING) gets these in place of its
 * port and steps: the read-only calls go at once, every other call (a RouterOS write, a step mark) waits until the
 * lease is known to be held with nothing before it (`gate` resolves), and fails with LeaseGateClosed otherwise.
 */

/** The RdsPort calls that change nothing on RDS: the only ones sent before the lease is held. */
const READS: ReadonlySet<string> = new Set<keyof RdsPort>(['getDisk', 'listDisks', 'getFile', 'listFiles', 'poolCapacity', 'ping']);

export class LeaseGateClosed extends Error {
  constructor(readonly took: string) {
    super(`the volume lease was not taken fresh (${took}): the job's look is discarded`);
    this.name = 'LeaseGateClosed';
  }
}

export function gatedPort(rds: RdsPort, gate: Promise<void>): RdsPort {
  return new Proxy(rds, {
    get(target, prop, receiver): unknown {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (typeof prop === 'string' && READS.has(prop)) return (...args: unknown[]) => fn.apply(target, args);
      return async (...args: unknown[]) => {
        await gate;
        return fn.apply(target, args);
      };
    },
  });
}

export function gatedSteps(steps: JobSteps, gate: Promise<void>): JobSteps {
  return {
    has: (step) => steps.has(step),
    mark: async (step) => {
      await gate;
      await steps.mark(step);
    },
  };
}
