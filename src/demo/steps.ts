import type { CsiGrpcClient } from '../grpc/client';

/** One step of the demo: what it does, printed with its duration and a one-line result. */
export interface Step {
  title: string;
  run(): Promise<string>;
}

export async function runSteps(steps: Step[], out: (line: string) => void): Promise<boolean> {
  let ok = true;
  for (const [i, step] of steps.entries()) {
    const started = process.hrtime.bigint();
    let result: string;
    let failed = false;
    try {
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
