import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue, type ConnectionOptions } from 'bullmq';
import type { Logger } from '../log/logger';
import type { HttpMount } from '../runtime/http-server';
import { VERSION } from '../version';
import { authorized, challenge, type DashboardAccess } from './auth';
import { DRIVER_QUEUES } from './queues';

/**
 * The job dashboard: bull-board (its Express adapter, used as a plain request handler) under /dashboard on the
 * controller's HTTP port, beside /metrics and /healthz. Every request is authenticated here before bull-board sees
 * it; in read-only mode bull-board hides the actions and this layer also refuses every method but GET and HEAD.
 */
export const DASHBOARD_PATH = '/dashboard';

export interface Dashboard {
  mount: HttpMount;
  readOnly: boolean;
  close(): Promise<void>;
}

type NodeHandler = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

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
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: readOnly, description: `prefix ${queuePrefix}` })),
    serverAdapter,
    options: { uiConfig: { boardTitle: `rds-csi ${VERSION}`, hideDocsLink: true } },
  });
  const app = serverAdapter.getRouter() as NodeHandler;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (access.mode === 'auth' && !authorized(req.headers.authorization, access.credentials)) {
      send(res, 401, { error: 'authentication required' }, { 'www-authenticate': challenge(access.credentials) });
      return;
    }
    const method = req.method ?? 'GET';
    const mutating = method !== 'GET' && method !== 'HEAD';
    if (mutating && readOnly) {
      send(res, 405, { error: 'the dashboard is read-only (dashboard.readOnly)' }, { allow: 'GET, HEAD' });
      return;
    }
    if (mutating && crossOrigin(req)) {
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

  const auth = access.mode === 'auth' ? [access.credentials.basic && 'basic', access.credentials.token !== undefined && 'bearer'].filter(Boolean) : 'none';
  log.info({ path: DASHBOARD_PATH, queues: DRIVER_QUEUES, auth, readOnly }, 'job dashboard on');
  return {
    mount: { path: DASHBOARD_PATH, handle },
    readOnly,
    close: async () => {
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
