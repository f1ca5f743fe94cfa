/**
 * The job dashboard: bull-board (its Express adapter, used as a plain request handler) under /dashboard on a listen
 * address of its own (dashboard.listen, loopback by default; never the metrics port). Every request is
 * authenticated here before bull-board sees it; in read-only mode bull-board hides the actions and this layer also
 * refuses every method but GET and HEAD; in read-write mode only the operator routes of routes.ts get through.
 * Every action, allowed or refused, is logged with who asked (the basic-auth user, "token", or "anonymous").
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import type { BeforeHookResult, BoardHooks, HookContext } from '@bull-board/api/dist/types';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue, type ConnectionOptions } from 'bullmq';
import type { Logger } from '../log/logger';
import type { HttpMount } from '../http/server';
import { VERSION } from '../version';
import { challenge, principalOf, type DashboardAccess } from './auth';
import { DRIVER_QUEUES } from './queues';
import { RETRY_ROUTES, classifyRoute, routeKey } from './routes';

export const DASHBOARD_PATH = '/dashboard';

export interface Dashboard {
  mount: HttpMount;
  readOnly: boolean;
  close(): Promise<void>;
}

type NodeHandler = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * Sent with every dashboard response, before auth: no framing by another page (clickjacking of the action buttons;
 * X-Frame-Options for old browsers, CSP frame-ancestors for new ones), no MIME sniffing, no referrer leaking job ids.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function send(res: ServerResponse, code: number, body: object, headers: Record<string, string | string[]> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

/** A state-changing request sent by a page of another origin (the browser adds the Basic credential by itself). */
function crossOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

/**
 * Builds the dashboard over the driver's queues (DRIVER_QUEUES, with the configured prefix), or returns undefined
 * when it is off. `connection` is shared with the controller's other producers.
 */
export function startDashboard(access: DashboardAccess, queuePrefix: string, connection: ConnectionOptions, log: Logger): Dashboard | undefined {
  if (access.mode === 'off') {
    log.debug('dashboard off: no credential configured (dashboard.basicAuthFile, dashboard.tokenFile)');
    return undefined;
  }
  const readOnly = access.readOnly;
  if (access.mode === 'insecure') {
    log.warn(
      { path: DASHBOARD_PATH, readOnly },
      `job dashboard is ON WITHOUT AUTHENTICATION (--dashboard-insecure-no-auth): anyone who reaches this HTTP port can read every job${readOnly ? '' : ' and retry, clean or remove jobs'}`,
    );
  } else if (access.insecureFlagIgnored) {
    log.warn('dashboard.insecureNoAuth is set but a credential is configured: the dashboard requires the credential');
  }

  const queues = DRIVER_QUEUES.map((name) => new Queue(name, { connection, prefix: queuePrefix }));
  for (const q of queues) q.on('error', (err) => log.warn({ queue: q.name, err: err.message }, 'dashboard queue connection error'));
  // Who made each request, by its headers object (bull-board hands the same object to the hook); set only here,
  // after authentication, so a client cannot name itself.
  const principals = new WeakMap<object, string>();
  const hooks: BoardHooks = { before: (context) => guardAction(context, principals, log) };
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: readOnly, description: `prefix ${queuePrefix}` })),
    serverAdapter,
    options: { uiConfig: { boardTitle: `rds-csi ${VERSION}`, hideDocsLink: true }, handlerHooks: hooks },
  });
  const express = serverAdapter.getRouter() as NodeHandler & { disable(setting: string): unknown };
  express.disable('x-powered-by');
  const app: NodeHandler = express;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    let principal = 'anonymous';
    if (access.mode === 'auth') {
      const who = principalOf(req.headers.authorization, access.credentials);
      if (who === undefined) {
        send(res, 401, { error: 'authentication required' }, { 'www-authenticate': challenge(access.credentials) });
        return;
      }
      principal = who;
    }
    principals.set(req.headers, principal);
    const method = req.method ?? 'GET';
    const mutating = method !== 'GET' && method !== 'HEAD';
    if (mutating && readOnly) {
      log.warn({ principal, method, url: req.url }, 'dashboard action refused: read-only');
      send(res, 405, { error: 'the dashboard is read-only (dashboard.readOnly)' }, { allow: 'GET, HEAD' });
      return;
    }
    if (mutating && crossOrigin(req)) {
      log.warn({ principal, method, url: req.url, origin: req.headers.origin }, 'dashboard action refused: cross-origin');
      send(res, 403, { error: 'cross-origin request refused' });
      return;
    }
    // bull-board's app routes relative to its base path.
    req.url = (req.url ?? '').slice(DASHBOARD_PATH.length) || '/';
    if (req.url.startsWith('?')) req.url = `/${req.url}`;
    app(req, res, (err?: unknown) => {
      if (err) {
        log.warn({ err: err instanceof Error ? err.message : 'non-Error thrown', url: req.url }, 'dashboard request failed');
        send(res, 500, { error: 'internal error' });
      } else {
        send(res, 404, { error: 'not found' });
      }
    });
  };

  const auth =
    access.mode === 'auth' ? [access.credentials.basic && 'basic', access.credentials.token !== undefined && 'bearer'].filter(Boolean) : 'none';
  log.info({ path: DASHBOARD_PATH, queues: DRIVER_QUEUES, auth, readOnly }, 'job dashboard on');
  return {
    mount: { path: DASHBOARD_PATH, handle },
    readOnly,
    close: async () => {
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}

/**
 * bull-board's `before` hook, run on the route Express dispatched to: reads pass; a mutating route passes only when
 * it is an operator route (routes.ts), and a retry only of a failed job; everything else is answered 403 with the
 * reason. Every mutating call is logged with its principal, allowed or not.
 */
async function guardAction(context: HookContext, principals: WeakMap<object, string>, log: Logger): Promise<BeforeHookResult> {
  const { method, route, request } = context;
  const kind = classifyRoute(method, route);
  if (kind === 'read') return { allow: true };
  const principal = principals.get(request.headers) ?? 'unknown';
  const params = request.params as Record<string, string | undefined>;
  const action = { principal, action: routeKey(method, route), queue: params.queueName, job: params.jobId, status: params.queueStatus };
  const refuse = (message: string): BeforeHookResult => {
    log.warn({ ...action, reason: message }, 'dashboard action refused');
    return { allow: false, status: 403, message };
  };
  if (kind === 'refused' || principal === 'unknown') {
    return refuse(
      `the dashboard does not allow ${method.toUpperCase()} ${route}: read-write mode allows only retry of failed jobs, clean, promote, pause and resume`,
    );
  }
  if (RETRY_ROUTES.has(routeKey(method, route))) {
    if (params.queueStatus !== undefined && params.queueStatus !== 'failed')
      return refuse(`only failed jobs may be retried from the dashboard, not ${params.queueStatus} ones`);
    if (params.jobId !== undefined) {
      const job = await request.queues.get(params.queueName ?? '')?.getJob(params.jobId);
      const state = job ? await job.getState() : undefined;
      if (state !== undefined && state !== 'failed')
        return refuse(`only failed jobs may be retried from the dashboard; job ${params.jobId} is ${state}`);
    }
  }
  log.info(action, 'dashboard action');
  return { allow: true };
}
