import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startRedisServer } from '../../src/runtime/redis-server';

/**
 * redis-server variants the ops tests need beside test/support/redis.ts (which is noeviction without persistence):
 * any extra flags (allkeys-lru, AOF, CONFIG disabled, replica, cluster-enabled), TLS with a CA made by the openssl
 * CLI, and a Sentinel monitoring a master. Each is private: its own port on 127.0.0.1 and its own temp dir.
 */
export interface Server {
  port: number;
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** A redis-server with exactly these arguments on `port`; `ownDir` (the caller's files) is removed on stop. */
async function run(args: string[], port: number, ownDir: string, scheme: 'redis' | 'rediss' = 'redis'): Promise<Server> {
  const server = await startRedisServer({ args, scheme, port, name: 'rds-csi-ops-redis' });
  return {
    port,
    url: server.url,
    dir: ownDir,
    stop: async () => {
      await server.stop();
      rmSync(ownDir, { recursive: true, force: true });
    },
  };
}

/** A redis-server with these extra flags (defaults: no persistence, noeviction; later flags win). */
export async function startRedisWith(extra: string[]): Promise<Server> {
  return startRedisServer({ extraArgs: extra, name: 'rds-csi-ops-redis' });
}

export interface Certs {
  dir: string;
  ca: string;
  otherCa: string;
  cert: string;
  key: string;
}

/** A CA, a server certificate for 127.0.0.1 / localhost signed by it, and an unrelated CA. */
export function makeCerts(): Certs {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-ops-tls-'));
  const j = (f: string): string => path.join(dir, f);
  const ca = (name: string): void => {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', j(`${name}.key`), '-out', j(`${name}.crt`)],
      { stdio: 'ignore' },
    );
  };
  ca('ca');
  ca('other-ca');
  writeFileSync(j('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', j('server.key'), '-out', j('server.csr')], {
    stdio: 'ignore',
  });
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      j('server.csr'),
      '-CA',
      j('ca.crt'),
      '-CAkey',
      j('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      j('ext.cnf'),
      '-out',
      j('server.crt'),
    ],
    { stdio: 'ignore' },
  );
  return { dir, ca: j('ca.crt'), otherCa: j('other-ca.crt'), cert: j('server.crt'), key: j('server.key') };
}

/** redis-server on a TLS-only port (clients need no certificate), noeviction, AOF on. */
export async function startTlsRedis(certs: Certs): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-ops-redis-tls-'));
  const args = [
    '--port',
    '0',
    '--tls-port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--tls-cert-file',
    certs.cert,
    '--tls-key-file',
    certs.key,
    '--tls-ca-cert-file',
    certs.ca,
    '--tls-auth-clients',
    'no',
    '--save',
    '',
    '--appendonly',
    'yes',
    '--maxmemory-policy',
    'noeviction',
  ];
  return run(args, port, dir, 'rediss');
}

/** A Sentinel monitoring `127.0.0.1:<masterPort>` as `name`. */
export async function startSentinel(masterPort: number, name = 'mymaster'): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-ops-sentinel-'));
  const conf = path.join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
      `sentinel down-after-milliseconds ${name} 5000`,
      '',
    ].join('\n'),
  );
  return run([conf, '--sentinel'], port, dir);
}
