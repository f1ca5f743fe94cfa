import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import { DRIVER_QUEUES } from '../../src/dashboard/queues';
import { createLogger } from '../../src/log/logger';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { startController, type ControllerApp } from '../../src/runtime/controller-app';
import { parseListen } from '../../src/http/server';
import { startHarness, type Harness } from '../support/controller-harness';
import { CLI, TEST_ENV, spawnCli, type CliProcess } from '../support/processes';
import { freePort } from '../support/redis';

/**
 * The job dashboard over real HTTP on a real controller (private redis-server, RouterOS simulator over TCP): off
 * without a credential, basic auth and bearer token, read-only by default, and the loudly named insecure switch.
 */

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const CAP = [{ mount: { fsType: 'ext4' }, accessMode: { mode: 'SINGLE_NODE_WRITER' } }];

interface QueueView {
  name: string;
  readOnlyMode: boolean;
  counts: Record<string, number>;
  jobs: { id: string; name: string; data: { volumeId?: string }; finishedOn?: number }[];
}

describe('job dashboard (bull-board under /dashboard)', () => {
  let secrets: string;
  let h: Harness;
  let base: string;
  let metricsBase: string;
  const extra: ControllerApp[] = [];
  const file = (name: string, text: string): string => {
    const p = path.join(secrets, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  const get = (url: string, auth?: string, init: RequestInit = {}): Promise<Response> =>
    fetch(url, { ...init, headers: { ...(auth ? { authorization: auth } : {}), ...(init.headers as Record<string, string> | undefined) } });

  /**
   * Another controller on the harness's Redis and simulator, with its own dashboard settings. `url` is its dashboard's
   * own address (the metrics port when the dashboard is off), `metricsUrl` its metrics port.
   */
  async function controllerWith(
    dashboard: Partial<Config['dashboard']>,
    log = createLogger('silent'),
  ): Promise<{ app: ControllerApp; url: string; metricsUrl: string }> {
    const cfg: Config = { ...h.cfg, dashboard: { readOnly: true, insecureNoAuth: false, listen: '127.0.0.1:0', ...dashboard } };
    const app = await startController(
      cfg,
      { endpoint: `unix://${path.join(secrets, `c${extra.length}.sock`)}`, httpListen: '127.0.0.1:0', withWorker: false },
      log,
    );
    extra.push(app);
    const metricsUrl = `http://127.0.0.1:${app.http?.port}`;
    return { app, url: app.dashboard ? `http://127.0.0.1:${app.dashboard.port}` : metricsUrl, metricsUrl };
  }

  beforeAll(async () => {
    secrets = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-dash-'));
    h = await startHarness({
      httpListen: '127.0.0.1:0',
      overrides: { 'dashboard.basicAuthFile': file('basic-auth', 'ops:correct horse:battery\n'), 'dashboard.listen': '127.0.0.1:0' },
    });
    base = `http://127.0.0.1:${h.controller?.dashboard?.port}`;
    metricsBase = `http://127.0.0.1:${h.controller?.http?.port}`;
  });

  afterAll(async () => {
    for (const app of extra) await app.close();
    await h?.stop();
    rmSync(secrets, { recursive: true, force: true });
  });

  it('shows every queue of the driver, the volume queue among them', () => {
    expect(DRIVER_QUEUES).toContain(VOLUME_QUEUE);
  });

  describe('basic auth (from a "user:password" file), read-only by default', () => {
    it('answers 401 with a Basic challenge without credentials, with a wrong password and with a wrong user', async () => {
      for (const auth of [
        undefined,
        basic('ops', 'wrong'),
        basic('root', 'correct horse:battery'),
        basic('ops', ''),
        'Basic !!!',
        'Bearer correct horse:battery',
      ]) {
        for (const p of ['/dashboard', '/dashboard/', '/dashboard/api/queues', '/dashboard/queue/volumes']) {
          const res = await get(base + p, auth);
          expect([p, auth, res.status]).toEqual([p, auth, 401]);
          expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="rds-csi dashboard"/);
        }
      }
    });

    it('listens on an address of its own: the metrics port serves no dashboard, the dashboard port no metrics', async () => {
      expect(h.controller?.dashboard?.port).toBeGreaterThan(0);
      expect(h.controller?.dashboard?.port).not.toBe(h.controller?.http?.port);
      expect((await get(`${metricsBase}/metrics`)).status).toBe(200);
      expect((await get(`${metricsBase}/healthz`)).status).toBe(200);
      const auth = basic('ops', 'correct horse:battery');
      for (const p of ['/dashboard', '/dashboard/', '/dashboard/api/queues', `/dashboard/queue/${VOLUME_QUEUE}`]) {
        expect([p, (await get(metricsBase + p, auth)).status]).toEqual([p, 404]);
        expect([p, (await get(base + p, auth)).status]).toEqual([p, 200]);
      }
      for (const p of ['/metrics', '/healthz']) expect([p, (await get(base + p, basic('ops', 'correct horse:battery'))).status]).toEqual([p, 404]);
    });

    it('binds to loopback unless told otherwise', () => {
      expect(loadConfig({}, {}).dashboard.listen).toBe('127.0.0.1:9810');
      expect(parseListen(loadConfig({}, {}).dashboard.listen, '0.0.0.0').host).toBe('127.0.0.1');
    });

    it('sends anti-framing and nosniff headers and no X-Powered-By on every response, 401 included', async () => {
      const auth = basic('ops', 'correct horse:battery');
      const page = await get(`${base}/dashboard/`, auth);
      const asset = /src="(static\/js\/main[^"]*\.js)"/.exec(await page.text())?.[1];
      for (const [p, a, code] of [
        ['/dashboard/', auth, 200],
        ['/dashboard/api/queues', auth, 200],
        [`/dashboard/${asset}`, auth, 200],
        ['/dashboard/api/queues', undefined, 401],
        ['/dashboard/nothing-here', auth, 404],
      ] as const) {
        const res = await get(base + p, a);
        expect([p, res.status]).toEqual([p, code]);
        expect([p, res.headers.get('x-frame-options')]).toEqual([p, 'DENY']);
        expect([p, res.headers.get('content-security-policy')]).toEqual([p, "frame-ancestors 'none'"]);
        expect([p, res.headers.get('x-content-type-options')]).toEqual([p, 'nosniff']);
        expect([p, res.headers.get('x-powered-by')]).toEqual([p, null]);
      }
    });

    it('serves the page and its assets with the right credentials', async () => {
      const auth = basic('ops', 'correct horse:battery');
      const page = await get(`${base}/dashboard`, auth);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      const html = await page.text();
      expect(html).toMatch(/<base href="\/dashboard\/"/);
      const asset = /src="(static\/js\/main[^"]*\.js)"/.exec(html)?.[1];
      expect(asset).toBeDefined();
      const script = await get(`${base}/dashboard/${asset}`, auth);
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toMatch(/javascript/);
      expect((await get(`${base}/dashboard/${asset}`)).status).toBe(401);
      expect((await get(`${base}/dashboard/queue/${VOLUME_QUEUE}`, auth)).status).toBe(200);
    });

    it('lists the volumes queue and the disk.create job of a CreateVolume made here', async () => {
      const auth = basic('ops', 'correct horse:battery');
      const vol = await h.client.ctl(
        'CreateVolume',
        { name: 'pvc-dashboard-1', capacityRange: { requiredBytes: 8 * 1024 * 1024 }, volumeCapabilities: CAP },
        20000,
      );
      const volumeId = vol.volume.volumeId as string;

      const all = (await (await get(`${base}/dashboard/api/queues`, auth)).json()) as { queues: QueueView[] };
      expect(all.queues.map((q) => q.name)).toEqual([...DRIVER_QUEUES]);
      const res = await get(`${base}/dashboard/api/queues?activeQueue=${VOLUME_QUEUE}&status=completed&page=1`, auth);
      expect(res.status).toBe(200);
      const q = ((await res.json()) as { queues: QueueView[] }).queues.find((x) => x.name === VOLUME_QUEUE)!;
      expect(q.readOnlyMode).toBe(true);
      expect(q.counts.completed).toBeGreaterThanOrEqual(2);
      const create = q.jobs.find((j) => j.name === 'disk.create' && j.data.volumeId === volumeId);
      expect(create).toBeDefined();
      expect(create!.finishedOn).toBeGreaterThan(0);
      // One job per CreateVolume (issue 14): no target.export.
      expect(q.jobs.some((j) => j.name === 'target.export' && j.data.volumeId === volumeId)).toBe(false);

      const one = await get(`${base}/dashboard/api/queues/${VOLUME_QUEUE}/${encodeURIComponent(create!.id)}`, auth);
      expect(one.status).toBe(200);
    });

    it('read-only: refuses retry, clean, pause and add, and the job stays', async () => {
      const auth = basic('ops', 'correct horse:battery');
      const q = (
        (await (await get(`${base}/dashboard/api/queues?activeQueue=${VOLUME_QUEUE}&status=completed`, auth)).json()) as { queues: QueueView[] }
      ).queues[0];
      const id = encodeURIComponent(q.jobs[0].id);
      const actions: [string, string][] = [
        ['PUT', `/dashboard/api/queues/${VOLUME_QUEUE}/${id}/retry`],
        ['PUT', `/dashboard/api/queues/${VOLUME_QUEUE}/${id}/clean`],
        ['PUT', `/dashboard/api/queues/${VOLUME_QUEUE}/retry/failed`],
        ['PUT', `/dashboard/api/queues/${VOLUME_QUEUE}/clean/completed`],
        ['PUT', `/dashboard/api/queues/${VOLUME_QUEUE}/pause`],
        ['PUT', '/dashboard/api/queues/pause'],
        ['POST', `/dashboard/api/queues/${VOLUME_QUEUE}/add`],
      ];
      for (const [method, p] of actions) {
        const res = await get(base + p, auth, { method, headers: { 'content-type': 'application/json' }, body: '{"name":"x","data":{}}' });
        expect([method, p, res.status]).toEqual([method, p, 405]);
      }
      // Without credentials an action is refused before anything else.
      expect((await get(`${base}/dashboard/api/queues/${VOLUME_QUEUE}/${id}/clean`, undefined, { method: 'PUT' })).status).toBe(401);
      expect((await get(`${base}/dashboard/api/queues/${VOLUME_QUEUE}/${id}`, auth)).status).toBe(200);
      const after = ((await (await get(`${base}/dashboard/api/queues`, auth)).json()) as { queues: QueueView[] }).queues[0];
      expect(after.counts.completed).toBe(q.counts.completed);
    });
  });

  describe('off unless a credential is configured', () => {
    it('no credential: /dashboard is 404 while /metrics and /healthz work', async () => {
      const { url, app } = await controllerWith({});
      expect(app.dashboard).toBeUndefined();
      for (const p of ['/dashboard', '/dashboard/', '/dashboard/api/queues', `/dashboard/queue/${VOLUME_QUEUE}`]) {
        expect((await get(url + p)).status).toBe(404);
        expect((await get(url + p, basic('ops', 'correct horse:battery'))).status).toBe(404);
      }
      const metrics = await get(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^# HELP /m);
      expect((await get(`${url}/healthz`)).status).toBe(200);
    });

    it('read-only without a credential and without the insecure flag is still off', async () => {
      const { url, app } = await controllerWith({ readOnly: false });
      expect(app.dashboard).toBeUndefined();
      expect((await get(`${url}/dashboard`)).status).toBe(404);
    });

    it('a named credential file that is missing or empty stops the controller with a config error', async () => {
      await expect(controllerWith({ tokenFile: path.join(secrets, 'absent') })).rejects.toThrow(ConfigError);
      await expect(controllerWith({ tokenFile: file('empty', '\n') })).rejects.toThrow(/dashboard.tokenFile .* is empty/);
      await expect(controllerWith({ basicAuthFile: file('nocolon', 'justauser\n') })).rejects.toThrow(/expected one line "user:password"/);
    });
  });

  describe('bearer token from a file', () => {
    let url: string;
    beforeAll(async () => {
      url = (await controllerWith({ tokenFile: file('token', 'tok-3f9a1c0e2b7d\n') })).url;
    });

    it('401 without or with a wrong token, 200 with the right one', async () => {
      const none = await get(`${url}/dashboard/api/queues`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/Bearer realm="rds-csi dashboard"/);
      for (const auth of ['Bearer tok-3f9a1c0e2b7', 'Bearer tok-3f9a1c0e2b7d0', 'Bearer ', basic('x', 'wrong'), 'Token tok-3f9a1c0e2b7d']) {
        expect([auth, (await get(`${url}/dashboard/api/queues`, auth)).status]).toEqual([auth, 401]);
      }
      const ok = await get(`${url}/dashboard/api/queues`, 'Bearer tok-3f9a1c0e2b7d');
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { queues: QueueView[] }).queues.map((q) => q.name)).toContain(VOLUME_QUEUE);
      expect((await get(`${url}/dashboard`, 'bearer tok-3f9a1c0e2b7d')).status).toBe(200);
    });

    it('a browser can log in with any user name and the token as password', async () => {
      expect((await get(`${url}/dashboard`, basic('me', 'tok-3f9a1c0e2b7d'))).status).toBe(200);
    });
  });

  describe('basic auth from separate user and password files, read-write', () => {
    let url: string;
    beforeAll(async () => {
      url = (
        await controllerWith({
          basicAuthUserFile: file('username', 'admin\n'),
          basicAuthPasswordFile: file('password', 'pa55:word\n'),
          readOnly: false,
        })
      ).url;
    });

    it('checks both files and lets an operator remove a job', async () => {
      expect((await get(`${url}/dashboard/api/queues`, basic('admin', 'pa55'))).status).toBe(401);
      expect((await get(`${url}/dashboard/api/queues`, basic('Admin', 'pa55:word'))).status).toBe(401);
      const auth = basic('admin', 'pa55:word');
      const vol = await h.client.ctl(
        'CreateVolume',
        { name: 'pvc-dashboard-rw', capacityRange: { requiredBytes: 4 * 1024 * 1024 }, volumeCapabilities: CAP },
        20000,
      );
      const q = (
        (await (await get(`${url}/dashboard/api/queues?activeQueue=${VOLUME_QUEUE}&status=completed`, auth)).json()) as { queues: QueueView[] }
      ).queues[0];
      expect(q.readOnlyMode).toBe(false);
      const job = q.jobs.find((j) => j.name === 'disk.create' && j.data.volumeId === vol.volume.volumeId)!;
      expect(job).toBeDefined();
      const jobUrl = `${url}/dashboard/api/queues/${VOLUME_QUEUE}/${encodeURIComponent(job.id)}`;
      // A page of another origin cannot use the browser's stored credential to change anything.
      expect((await get(`${jobUrl}/clean`, auth, { method: 'PUT', headers: { origin: 'http://evil.example' } })).status).toBe(403);
      expect((await get(jobUrl, auth)).status).toBe(200);
      const clean = await get(`${jobUrl}/clean`, auth, { method: 'PUT', headers: { origin: url } });
      expect(clean.status).toBeLessThan(300);
      expect((await get(jobUrl, auth)).status).toBe(404);
      expect((await get(`${url}/dashboard/api/queues/${VOLUME_QUEUE}/retry/failed`, auth, { method: 'PUT' })).status).toBe(200);
    });
  });

  describe('rds-csi controller flags (the real binary)', () => {
    let proc: CliProcess | undefined;
    afterEach(async () => {
      await proc?.kill();
      proc = undefined;
    });

    const common = (): string[] => [
      'controller',
      '--endpoint',
      `unix://${path.join(secrets, `cli-${Date.now()}.sock`)}`,
      '--redis-url',
      h.redis.url,
      '--rds-address',
      `${h.sim.host}:${h.sim.port}`,
      '--rds-password-file',
      file('rds-password', 'secret\n'),
      '--log-level',
      'info',
    ];

    it('--dashboard-insecure-no-auth serves it without auth and says so loudly', async () => {
      const port = await freePort();
      const dport = await freePort();
      proc = await spawnCli(
        [...common(), '--http-listen', `127.0.0.1:${port}`, '--dashboard-listen', `127.0.0.1:${dport}`, '--dashboard-insecure-no-auth'],
        {},
        /controller ready/,
      );
      expect((await get(`http://127.0.0.1:${port}/dashboard/api/queues`)).status).toBe(404);
      const res = await get(`http://127.0.0.1:${dport}/dashboard/api/queues`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { queues: QueueView[] }).queues[0]).toMatchObject({ name: VOLUME_QUEUE, readOnlyMode: true });
      const warning = proc
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .find((l) => /WITHOUT AUTHENTICATION/.test(l.msg));
      expect(warning?.level).toBe(40);
      expect(warning?.msg).toMatch(/--dashboard-insecure-no-auth/);
    });

    it('--dashboard-basic-auth-file and RDS_CSI_DASHBOARD_* env turn it on with auth; no flag leaves it off', async () => {
      const port = await freePort();
      const dport = await freePort();
      proc = await spawnCli(
        [...common(), '--http-listen', `127.0.0.1:${port}`, '--dashboard-basic-auth-file', file('cli-basic', 'cli:pw\n')],
        { RDS_CSI_DASHBOARD_READ_ONLY: 'false', RDS_CSI_DASHBOARD_LISTEN: `127.0.0.1:${dport}` },
        /controller ready/,
      );
      expect((await get(`http://127.0.0.1:${dport}/dashboard`)).status).toBe(401);
      expect((await get(`http://127.0.0.1:${port}/dashboard`, basic('cli', 'pw'))).status).toBe(404);
      const res = await get(`http://127.0.0.1:${dport}/dashboard/api/queues`, basic('cli', 'pw'));
      expect(res.status).toBe(200);
      expect(((await res.json()) as { queues: QueueView[] }).queues[0].readOnlyMode).toBe(false);
      expect(proc.output()).not.toContain('WITHOUT AUTHENTICATION');
      await proc.kill();

      const port2 = await freePort();
      proc = await spawnCli([...common(), '--http-listen', `127.0.0.1:${port2}`], { RDS_CSI_DASHBOARD_INSECURE_NO_AUTH: '' }, /controller ready/);
      expect((await get(`http://127.0.0.1:${port2}/dashboard`)).status).toBe(404);
      expect((await get(`http://127.0.0.1:${port2}/metrics`)).status).toBe(200);
    });

    it('a dashboard credential file that cannot be read exits 2 naming the key', () => {
      const res = spawnSync(process.execPath, [CLI, ...common(), '--dashboard-token-file', path.join(secrets, 'nope')], {
        encoding: 'utf8',
        timeout: 10000,
        env: { ...process.env, ...TEST_ENV },
      });
      expect(res.status).toBe(2);
      expect(res.stderr).toMatch(/dashboard\.tokenFile/);
    });
  });
});
