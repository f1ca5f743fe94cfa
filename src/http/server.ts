/**
 * The process's HTTP port: /metrics (Prometheus text) and /healthz (200 when every readiness check passes; with a
 * HealthReport, the body lists each part, e.g. each RDS backend, up or down: src/http/health.ts).
 * Disabled when no address is configured. The job dashboard is never served here: it has a listen address of its
 * own (startMountServer, dashboard.listen), so the metrics port can be opened to Prometheus without opening it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from '../metrics/registry';
import { healthBody, type HealthReport } from './health';

export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

/** A handler for everything under one path (e.g. the job dashboard under /dashboard). */
export interface HttpMount {
  path: string;
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
}

const under = (url: string | undefined, path: string): boolean => !!url && (url === path || url.startsWith(`${path}/`) || url.startsWith(`${path}?`));

/** `host:port`, `[v6]:port` or a bare port (on defaultHost). */
export function parseListen(listen: string, defaultHost: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  const host = colon < 0 ? defaultHost : listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1') || defaultHost;
  return { host, port: Number(colon < 0 ? listen : listen.slice(colon + 1)) };
}

async function listenOn(server: http.Server, listen: string, defaultHost: string): Promise<HttpServer> {
  const { host, port } = parseListen(listen, defaultHost);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A server for the given mounts only (the job dashboard): everything else is 404, /metrics included. */
export function startMountServer(listen: string, mounts: readonly HttpMount[]): Promise<HttpServer> {
  const server = http.createServer((req, res) => {
    const mount = mounts.find((m) => under(req.url, m.path));
    if (mount) {
      mount.handle(req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  return listenOn(server, listen, '127.0.0.1');
}

export function startHttpServer(listen: string, metrics: Metrics, healthy: () => Promise<boolean | HealthReport>): Promise<HttpServer> {
  const server = http.createServer((req, res) => {
    const reply = (code: number, body: string, type = 'text/plain'): void => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (req.url === '/metrics') {
      metrics.registry.metrics().then(
        (text) => reply(200, text, metrics.registry.contentType),
        (err: Error) => reply(500, err.message),
      );
    } else if (req.url === '/healthz') {
      healthy().then(
        (r) => {
          const report = typeof r === 'boolean' ? { ready: r, parts: [] } : r;
          reply(report.ready ? 200 : 503, healthBody(report));
        },
        () => reply(503, 'not ready\n'),
      );
    } else {
      reply(404, 'not found\n');
    }
  });
  return listenOn(server, listen, '0.0.0.0');
}
