import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from '../metrics/registry';

/**
 * The process's HTTP port: /metrics (Prometheus text) and /healthz (200 when every readiness check passes).
 * Disabled when no address is configured.
 */
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

export async function startHttpServer(listen: string, metrics: Metrics, healthy: () => Promise<boolean>, mounts: readonly HttpMount[] = []): Promise<HttpServer> {
  const [host, portText] = listen.includes(':') ? [listen.slice(0, listen.lastIndexOf(':')), listen.slice(listen.lastIndexOf(':') + 1)] : ['0.0.0.0', listen];
  const server = http.createServer((req, res) => {
    const reply = (code: number, body: string, type = 'text/plain'): void => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (req.url === '/metrics') {
      metrics.registry.metrics().then((text) => reply(200, text, metrics.registry.contentType), (err: Error) => reply(500, err.message));
    } else if (req.url === '/healthz') {
      healthy().then((ok) => reply(ok ? 200 : 503, ok ? 'ok\n' : 'not ready\n'), () => reply(503, 'not ready\n'));
    } else {
      const mount = mounts.find((m) => under(req.url, m.path));
      if (mount) mount.handle(req, res);
      else reply(404, 'not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(portText), host || '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
