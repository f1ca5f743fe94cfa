/**
 * One answer for many askers: the first call runs `fn`; every call while it runs gets the same promise, and every
 * call within `ttlMs` after it settled gets that outcome (value or error) again. /metrics and /healthz read RDS pool
 * capacity and health through this, so an unauthenticated scraper, however fast, makes at most one RouterOS call
 * per `ttlMs` (rds.statusCacheMs) instead of one per request (issue 18 item 6). ttlMs 0 still shares the call in flight.
 */
export function sharedResult<T>(fn: () => Promise<T>, ttlMs: number, now: () => number = Date.now): () => Promise<T> {
  let current: Promise<T> | undefined;
  let settledAt: number | undefined;
  return () => {
    if (current && (settledAt === undefined || now() - settledAt < ttlMs)) return current;
    settledAt = undefined;
    const p = fn();
    current = p;
    const settled = (): void => {
      if (current === p) settledAt = now();
    };
    p.then(settled, settled);
    return p;
  };
}
