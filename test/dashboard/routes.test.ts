import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { appRoutes } from '@bull-board/api/dist/routes';
import { Queue, QueueEvents } from 'bullmq';
import { createLogger } from '../../src/log/logger';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { redisConnection, redisTargetFromConfig } from '../../src/queue/connection';
import { startController, type ControllerApp } from '../../src/runtime/controller-app';
import { startHarness, type Harness } from '../support/controller-harness';

/**
 * The read-write dashboard's route table (issue 18 item 3): every route bull-board declares that changes anything
 * (its own list, node_modules/@bull-board/api/dist/routes.js) is sent to a real read-write dashboard with the right
 * credential; the operator routes (retry of a failed job, clean, promote, pause, resume) get through, every other
 * one is answered 403 with a clear message and changes nothing. Every call is in the log with who made it.
 */

const ALLOWED = new Set([
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
/** Routes that must exist and be refused: the ones the review used, named so a rename in bull-board is noticed. */
const MUST_REFUSE = [
  'post /api/queues/:queueName/add',
  'patch /api/queues/:queueName/:jobId/update-data',
  'put /api/queues/:queueName/obliterate',
  'put /api/queues/:queueName/empty',
];

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const AUTH = basic('ops', 'pw-7c1e');

interface Route {
  method: string;
  route: string;
}
const mutating: Route[] = appRoutes.api
  .flatMap((r) => (Array.isArray(r.method) ? r.method : [r.method]).map((m) => ({ method: String(m), route: String(r.route) })))
  .filter((r) => r.method !== 'get');
const key = (r: Route): string => `${r.method} ${r.route}`;

describe('read-write dashboard: route table', () => {
  let dir: string;
  let h: Harness;
  let rw: ControllerApp;
  let url: string;
  let queue: Queue;
  let events: QueueEvents;
  const logLines: { msg: string; principal?: string; action?: string; reason?: string }[] = [];
  const conns: { disconnect(): void }[] = [];

  /** A job that failed: a disk.delete without the driver's proof (refused by the worker, deletes nothing). */
  async function failedJob(): Promise<string> {
    const job = await queue.add('disk.delete', { volumeId: 'pvc-route-table', slot: 'pvc-route-table' });
    await job.waitUntilFinished(events, 20000).catch(() => undefined);
    expect(await job.getState()).toBe('failed');
    return job.id!;
  }
  const call = (r: Route, params: Record<string, string>, auth = AUTH): Promise<Response> => {
    const p = r.route.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name] ?? 'x'));
    const body = r.route.endsWith('/add')
      ? { name: 'disk.delete', data: { volumeId: 'pvc-forged', slot: 'pvc-forged' } }
      : r.route.endsWith('update-data')
        ? { data: { volumeId: 'pvc-forged' } }
        : {};
    return fetch(`${url}/dashboard${p}`, {
      method: r.method.toUpperCase(),
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  };
  /** Jobs in the queue and failed ones (the harness's own reconcile jobs may move from active to completed). */
  const counts = async (): Promise<{ total: number; failed: number }> => {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'paused', 'prioritized');
    return { total: Object.values(c).reduce((a, b) => a + b, 0), failed: c.failed };
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-dash-routes-'));
    const authFile = path.join(dir, 'basic-auth');
    writeFileSync(authFile, 'ops:pw-7c1e\n', { mode: 0o600 });
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, 'tok-route-table\n', { mode: 0o600 });
    h = await startHarness({ overrides: { 'dashboard.listen': '127.0.0.1:0' } });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) logLines.push(JSON.parse(line) as (typeof logLines)[number]);
        done();
      },
    });
    rw = await startController(
      { ...h.cfg, dashboard: { ...h.cfg.dashboard, basicAuthFile: authFile, tokenFile, readOnly: false, listen: '127.0.0.1:0' } },
      { endpoint: `unix://${path.join(dir, 'rw.sock')}`, withWorker: false },
      createLogger('info', 'test', sink),
    );
    url = `http://127.0.0.1:${rw.dashboard?.port}`;
    const fast = redisConnection(redisTargetFromConfig(h.cfg), 'fast');
    const blocking = redisConnection(redisTargetFromConfig(h.cfg), 'blocking');
    conns.push(fast, blocking);
    queue = new Queue(VOLUME_QUEUE, { connection: fast, prefix: h.cfg.queuePrefix });
    events = new QueueEvents(VOLUME_QUEUE, { connection: blocking, prefix: h.cfg.queuePrefix });
    await events.waitUntilReady();
  });
  afterAll(async () => {
    await queue?.resume();
    await events?.close();
    await queue?.close();
    for (const c of conns) c.disconnect();
    await rw?.close();
    await h?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("knows every operator route it allows and the refused ones the review used, by bull-board's own names", () => {
    const declared = new Set(mutating.map(key));
    for (const k of [...ALLOWED, ...MUST_REFUSE]) expect([k, declared.has(k)]).toEqual([k, true]);
    expect(mutating.length).toBeGreaterThan(ALLOWED.size + MUST_REFUSE.length);
  });

  it('refuses every mutating route but the operator ones with 403 and a message, and nothing changes', async () => {
    const jobId = await failedJob();
    const before = await counts();
    for (const r of mutating.filter((x) => !ALLOWED.has(key(x)))) {
      const res = await call(r, { queueName: VOLUME_QUEUE, jobId, queueStatus: 'failed', schedulerId: 'reconcile.attachments' });
      const body = (await res.json()) as { message?: string };
      expect([key(r), res.status]).toEqual([key(r), 403]);
      expect([key(r), body.message]).toEqual([
        key(r),
        expect.stringMatching(/does not allow .* read-write mode allows only retry of failed jobs, clean, promote, pause and resume/),
      ]);
    }
    // No job added, none edited, the queue neither emptied nor obliterated, the scheduler still there.
    expect(await counts()).toEqual(before);
    expect((await queue.getJob(jobId))?.data).toEqual({ volumeId: 'pvc-route-table', slot: 'pvc-route-table' });
    expect(
      await queue
        .getJobs(['waiting', 'delayed', 'prioritized', 'completed', 'failed', 'active'])
        .then((js) => js.some((j) => j.data.volumeId === 'pvc-forged')),
    ).toBe(false);
    expect(await queue.isPaused()).toBe(false);
    expect((await queue.getJobSchedulers()).map((s) => s.key)).toContain('reconcile.attachments');
  });

  it("lets each operator route through (no 403), in bull-board's order", async () => {
    const jobId = await failedJob();
    for (const r of mutating.filter((x) => ALLOWED.has(key(x)))) {
      const res = await call(r, { queueName: VOLUME_QUEUE, jobId, queueStatus: 'failed' });
      expect([key(r), res.status]).toEqual([key(r), expect.any(Number)]);
      expect([key(r), res.status === 403 || res.status >= 500]).toEqual([key(r), false]);
    }
    await queue.resume();
  });

  it('retries only failed jobs: retry of completed ones, by status or by id, is 403', async () => {
    const completed = (await queue.getJobs(['completed'], 0, 0))[0];
    expect(completed).toBeDefined();
    const byStatus = await call(
      { method: 'put', route: '/api/queues/:queueName/retry/:queueStatus' },
      { queueName: VOLUME_QUEUE, queueStatus: 'completed' },
    );
    expect(byStatus.status).toBe(403);
    expect(((await byStatus.json()) as { message: string }).message).toMatch(/only failed jobs may be retried/);
    const byId = await call({ method: 'put', route: '/api/queues/:queueName/:jobId/retry' }, { queueName: VOLUME_QUEUE, jobId: completed.id! });
    expect(byId.status).toBe(403);
    expect(await queue.getJobState(completed.id!)).toBe('completed');
    const failed = await failedJob();
    expect((await call({ method: 'put', route: '/api/queues/:queueName/:jobId/retry' }, { queueName: VOLUME_QUEUE, jobId: failed })).status).toBe(
      204,
    );
  });

  it('logs every action, allowed or refused, with who made it (basic-auth user or "token")', async () => {
    logLines.length = 0;
    await call({ method: 'put', route: '/api/queues/:queueName/pause' }, { queueName: VOLUME_QUEUE }, 'Bearer tok-route-table');
    await call({ method: 'put', route: '/api/queues/:queueName/resume' }, { queueName: VOLUME_QUEUE });
    await call({ method: 'post', route: '/api/queues/:queueName/add' }, { queueName: VOLUME_QUEUE }, basic('someone', 'tok-route-table'));
    await call({ method: 'put', route: '/api/queues/:queueName/obliterate' }, { queueName: VOLUME_QUEUE });
    const actions = logLines.filter((l) => /^dashboard action/.test(l.msg)).map((l) => [l.msg, l.principal, l.action]);
    expect(actions).toEqual([
      ['dashboard action', 'token', 'put /api/queues/:queueName/pause'],
      ['dashboard action', 'ops', 'put /api/queues/:queueName/resume'],
      ['dashboard action refused', 'token', 'post /api/queues/:queueName/add'],
      ['dashboard action refused', 'ops', 'put /api/queues/:queueName/obliterate'],
    ]);
    expect(await queue.isPaused()).toBe(false);
  });
});
