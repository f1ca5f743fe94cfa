import type { CsiGrpcClient } from '../grpc/client';

/** One step of the demo: what it does, printed with its duration and a one-line result. */
export interface Step {
  title: string;
  run(): Promise<string>;
}

/**
 * Runs the steps in order and stops at the first failure. `failAt` (the demo reads it from RDS_CSI_DEMO_FAIL_AT)
 * makes the first step whose title contains it fail without running: the way to prove that a failure midway
 * still tears down everything (see Teardown).
 */
export async function runSteps(steps: Step[], out: (line: string) => void, failAt?: string): Promise<boolean> {
  let ok = true;
  for (const [i, step] of steps.entries()) {
    const started = process.hrtime.bigint();
    let result: string;
    let failed = false;
    try {
      if (failAt && step.title.includes(failAt)) throw new Error(`injected failure (RDS_CSI_DEMO_FAIL_AT=${failAt})`);
      result = await step.run();
    } catch (err) {
      const e = err as { code?: number; details?: string; message?: string };
      result = `FAILED: ${e.details ?? e.message ?? String(err)}`;
      failed = true;
      ok = false;
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    out(`${String(i + 1).padStart(2)}. ${step.title.padEnd(60)} ${ms.toFixed(1).padStart(8)} ms  ${result}`);
    if (failed) break;
  }
  return ok;
}

/**
 * What the demo has set up and must undo: each set-up step registers its undo (DeleteVolume after CreateVolume,
 * NodeUnstageVolume before NodeStageVolume, ...) under a key. A teardown step runs its entries by key; whatever is
 * left when the demo ends, by success or failure, runs in reverse order, every entry attempted even when another
 * fails (the CSI calls are idempotent, so undoing a half-done step is safe).
 */
export class Teardown {
  private readonly entries: Array<{ key: string; run: () => Promise<unknown> }> = [];

  add(key: string, run: () => Promise<unknown>): void {
    if (!this.entries.some((e) => e.key === key)) this.entries.push({ key, run });
  }

  /** Undo one registered step now (a normal teardown step); it stays registered if it fails. */
  async run(key: string): Promise<void> {
    const e = this.entries.find((x) => x.key === key);
    if (!e) return;
    await e.run();
    this.entries.splice(this.entries.indexOf(e), 1);
  }

  get pending(): number {
    return this.entries.length;
  }

  /** Undo everything left, last first; returns false when any undo failed. */
  async runAll(out: (line: string) => void): Promise<boolean> {
    let ok = true;
    for (const e of this.entries.splice(0).reverse()) {
      try {
        await e.run();
        out(`    undone: ${e.key}`);
      } catch (err) {
        const x = err as { details?: string; message?: string };
        out(`    FAILED to undo ${e.key}: ${x.details ?? x.message ?? String(err)}`);
        ok = false;
      }
    }
    return ok;
  }
}

/** Expects the call to fail with `code`; returns a short description. */
export async function expectCode(p: Promise<unknown>, code: number, name: string): Promise<string> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: number; details?: string };
    if (e.code === code) return `${name} as expected: ${e.details ?? ''}`;
    throw err;
  }
  throw new Error(`expected ${name}, the call succeeded`);
}

export type Client = CsiGrpcClient;
