import type { CallContext } from '../grpc/service';

/** How long an RPC may wait for its job: until shortly before the caller's deadline, or a default without one. */
export function waitBudget(ctx: CallContext, d: { deadlineMarginMs: number; defaultWaitMs: number }): number {
  const remaining = ctx.remainingMs();
  return Number.isFinite(remaining) ? Math.min(remaining - d.deadlineMarginMs, d.defaultWaitMs * 10) : d.defaultWaitMs;
}
