/**
 * Which of bull-board's API routes the read-write dashboard lets through. The list is of what an operator of this
 * driver needs: retry a failed job, clean (remove) jobs, promote delayed jobs, pause and resume a queue. Every other
 * route that changes anything is refused, by default, including any a bull-board upgrade adds: adding a job or
 * editing its data (a hand-made disk.delete once deleted a published volume's disk), obliterating or emptying a
 * queue, changing concurrency, rate limits, delays, priorities, job schedulers, or a job's children.
 *
 * Routes are named as bull-board declares them, `<method> <route pattern>` (node_modules/@bull-board/api/dist/
 * routes.js, `appRoutes.api`), and matched on the pattern Express actually dispatched to (bull-board's
 * `handlerHooks.before` receives it), so no spelling of a path (case, trailing slash, encoding) can reach a refused
 * handler under an allowed name.
 */
export const OPERATOR_ROUTES: ReadonlySet<string> = new Set([
  'put /api/queues/pause',
  'put /api/queues/resume',
  'put /api/queues/:queueName/pause',
  'put /api/queues/:queueName/resume',
  'put /api/queues/:queueName/retry/:queueStatus',
  'put /api/queues/:queueName/:jobId/retry',
  'put /api/queues/:queueName/clean/:queueStatus',
  'put /api/queues/:queueName/:jobId/clean',
  'put /api/queues/:queueName/promote',
  'put /api/queues/:queueName/:jobId/promote',
]);

/** Retry re-runs a job with its old payload: only a failed one (a completed fence.attach re-run would re-attach). */
export const RETRY_ROUTES: ReadonlySet<string> = new Set([
  'put /api/queues/:queueName/retry/:queueStatus',
  'put /api/queues/:queueName/:jobId/retry',
]);

export type RouteClass = 'read' | 'operator' | 'refused';

export function routeKey(method: string, route: string): string {
  return `${method.toLowerCase()} ${route}`;
}

/** GET (and HEAD) routes only read; a mutating route is allowed only when listed above. */
export function classifyRoute(method: string, route: string): RouteClass {
  const m = method.toLowerCase();
  if (m === 'get' || m === 'head') return 'read';
  return OPERATOR_ROUTES.has(routeKey(m, route)) ? 'operator' : 'refused';
}
