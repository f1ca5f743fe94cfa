import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { parseAllDocuments } from 'yaml';
import { freePort, hasRedisServer, waitForPort } from '../../src/runtime/redis-server';
import { itIf } from '../support/prereq';

/**
 * The chart's part of issue 18 item 7 (and item 4), checked on the templates' YAML skeleton as test/helm/chart.test.ts
 * does (no helm binary needed): the node DaemonSet's sidecars hold no capability; the internal Redis reads its
 * password from a config file, never from its command line, and the start script that writes that file is run
 * here against a real redis-server; plain RouterOS API is chosen only by rds.tls.enabled=false.
 */
type Obj = Record<string, unknown>;
const TEMPLATES = path.resolve(__dirname, '../../helm/templates');
const source = (file: string): string => readFileSync(path.join(TEMPLATES, file), 'utf8');

/** Template actions → placeholders, action-only lines dropped (the same reduction as chart.test.ts). */
function objectsOf(file: string): Obj[] {
  const MARK = '\uE000';
  const text = source(file)
    .replace(/\{\{[\s\S]*?\}\}/g, MARK)
    .split('\n')
    .filter((line) => !(line.includes(MARK) && line.split(MARK).join('').trim() === ''))
    .map((line) => line.split(MARK).join('TPL'))
    .join('\n');
  return parseAllDocuments(text, { uniqueKeys: false })
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);
}
const podSpec = (w: Obj): Obj => ((w.spec as Obj).template as Obj).spec as Obj;
const container = (w: Obj, name: string): Obj => {
  const c = (podSpec(w).containers as Obj[]).find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
};

describe('node DaemonSet sidecars', () => {
  const ds = objectsOf('node-daemonset.yaml').find((o) => o.kind === 'DaemonSet') as Obj;

  it.each(['node-driver-registrar', 'liveness-probe'])('%s: no capabilities, no escalation, read-only root, RuntimeDefault seccomp', (name) => {
    expect(container(ds, name).securityContext).toEqual({
      // Root, because both connect to the node plugin's root-owned 0600 socket (src/grpc/server.ts).
      runAsUser: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });
});

describe('internal Redis password', () => {
  const sts = objectsOf('redis.yaml').find((o) => o.kind === 'StatefulSet') as Obj;
  const redis = container(sts, 'redis');

  it('is never on the command line: no --requirepass, no $(REDIS_PASSWORD) in args or env', () => {
    expect(source('redis.yaml')).not.toMatch(/--requirepass|\$\(REDIS_PASSWORD\)/);
    expect(JSON.stringify(redis.args)).not.toMatch(/requirepass|PASSWORD/);
    expect(((redis.env as Obj[]) ?? []).map((e) => e.name)).toEqual(['REDISCLI_AUTH']);
  });

  it('comes from the Secret as a file, into a config file on a memory-backed emptyDir', () => {
    const mounts = redis.volumeMounts as Obj[];
    expect(mounts).toEqual(
      expect.arrayContaining([
        { name: 'redis-auth', mountPath: '/etc/redis-auth', readOnly: true },
        { name: 'redis-run', mountPath: '/run/redis' },
      ]),
    );
    const volumes = podSpec(sts).volumes as Obj[];
    const secret = volumes.find((v) => v.name === 'redis-auth')?.secret as Obj;
    expect(secret).toMatchObject({ items: [{ key: 'TPL', path: 'password' }] });
    // 0440 as Kubernetes reads it (YAML 1.1 octal), like the chart's other Secret volumes; the yaml package here is 1.2.
    expect(source('redis.yaml')).toMatch(/redis-auth\n\s+secret:\n\s+secretName: .*\n(\s+#.*\n)*\s+defaultMode: 0440\n/);
    expect(volumes.find((v) => v.name === 'redis-run')?.emptyDir).toEqual({ medium: 'Memory', sizeLimit: '1Mi' });
    const command = redis.command as string[];
    expect(command.slice(0, 2)).toEqual(['sh', '-c']);
    expect(command[3]).toBe('redis-server');
  });

  const withRedis = itIf(hasRedisServer(), 'redis-server');
  withRedis.each([
    ['a password', 'Abc123xyz', true, '\n'],
    ['a password with " and \\ and a space', 'p"a\\ss word', true, '\n'],
    ['a password without a final newline (a Secret key as written)', 'NoNewline42', true, ''],
    ['no password file (auth disabled)', undefined, false, ''],
  ])(
    'the start script runs redis-server with %s from the config file, and not in its command line',
    async (_what, password, auth, eol) => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-chart-redis-'));
      const script = (redis.command as string[])[2].replaceAll('/etc/redis-auth', path.join(dir, 'secret')).replaceAll('/run/redis', dir);
      if (password !== undefined) {
        mkdirSync(path.join(dir, 'secret'));
        writeFileSync(path.join(dir, 'secret', 'password'), `${password}${eol}`);
      }
      const port = await freePort();
      const child = spawn(
        'sh',
        ['-c', script, 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
      const conns: Redis[] = [];
      const connect = (): Redis => {
        const c = new Redis({
          host: '127.0.0.1',
          port,
          lazyConnect: true,
          enableReadyCheck: false,
          maxRetriesPerRequest: 0,
          retryStrategy: () => null,
        });
        c.on('error', () => undefined);
        conns.push(c);
        return c;
      };
      try {
        await waitForPort(port, child, 10000);
        // exec: the sh process became redis-server; its argv holds the config file's path, never the password.
        const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
        expect(cmdline).toContain('redis-server');
        if (password !== undefined) expect(cmdline).not.toContain(password);
        if (auth) {
          expect((statSync(path.join(dir, 'auth.conf')).mode & 0o777).toString(8)).toBe('600');
          const c = connect();
          await c.connect();
          await expect(c.ping()).rejects.toThrow(/NOAUTH/);
          await expect(c.auth('wrong')).rejects.toThrow(/WRONGPASS/);
          expect(await c.auth(password as string)).toBe('OK');
          expect(await c.ping()).toBe('PONG');
        } else {
          const none = connect();
          await none.connect();
          expect(await none.ping()).toBe('PONG');
        }
      } finally {
        for (const c of conns) c.disconnect();
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
        rmSync(dir, { recursive: true, force: true });
      }
    },
    20000,
  );
});

describe('RouterOS transport', () => {
  it('plain API (RDS_CSI_RDS_INSECURE_PLAINTEXT) is set only under rds.tls.enabled=false', () => {
    const text = source('_helpers.tpl');
    const at = text.indexOf('- name: RDS_CSI_RDS_INSECURE_PLAINTEXT');
    expect(at).toBeGreaterThan(0);
    const before = text.slice(0, at).split('\n').slice(-3).join('\n');
    expect(before).toMatch(/\{\{- if not \.Values\.rds\.tls\.enabled \}\}/);
    expect(text.split('RDS_CSI_RDS_INSECURE_PLAINTEXT').length - 1).toBe(1);
  });
});
