import { createServer, connect, type Server, type Socket } from 'node:net';
import { QueueEvents, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { JobRunner } from '../../src/queue/job-runner';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { JobProducer } from '../../src/queue/producer';
import { startRedis, type TestRedis } from '../support/redis';
import { waitFor } from '../support/wait';

/**
 * The events connection breaks while the rest of the controller still reaches Redis (a TCP proxy in front of the
 * events stream only, cut with RSTs and then refusing, so QueueEvents reports connection errors). QueueEvents reads
 * on from its last id after it reconnects, but what the stream no longer holds is gone: it is trimmed to
 * maxLenEvents under load, and a failover can lose its tail. job-waiter.ts: after a connection error the stream is
 * not known to flow, so a wait looks at its job's state instead of trusting an event that may never come.
 */
class Proxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: number) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => this.sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Resets every connection through it and refuses new ones until open() again. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const s of this.sockets) s.resetAndDestroy();
    await closed;
  }
}

describe('JobWaiter after the events connection failed', () => {
  const prefix = 'jw-outage';
  let redis: TestRedis;
  let conn: Redis;
  let workerConn: Redis;
  let worker: Worker;
  let proxy: Proxy;
  const gates = new Map<string, () => void>();

  beforeAll(async () => {
    redis = await startRedis();
    conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    workerConn = new Redis(redis.url, { maxRetriesPerRequest: null });
    worker = new Worker(
      VOLUME_QUEUE,
      async (job: Job) => {
        if (job.id?.includes('gated')) await new Promise<void>((r) => gates.set(job.id ?? '', r));
        return { sizeBytes: 3 };
      },
      { connection: workerConn, prefix },
    );
    await worker.waitUntilReady();
    proxy = new Proxy(redis.port);
    await proxy.open();
  });
  afterAll(async () => {
    for (const open of gates.values()) open();
    await proxy.cut();
    await worker.close();
    conn.disconnect();
    workerConn.disconnect();
    await redis.stop();
  });

  it('a job that finished while the stream was away, its event gone: the wait answers from its state, not at its deadline', async () => {
    const producer = new JobProducer(conn, prefix, { attempts: 1, backoffMs: 10 });
    const events = new QueueEvents(VOLUME_QUEUE, { connection: { url: `redis://127.0.0.1:${proxy.port}` }, prefix });
    events.on('error', () => undefined); // the controller's own handler; the waiter's goes at close()
    await events.waitUntilReady();
    const runner = new JobRunner(producer, events);
    const run = (id: string, waitMs: number): Promise<unknown> =>
      runner.run('disk.create', id, { volumeId: 'v', slot: 'v', filePath: '/pool/v.img', sizeBytes: 3 }, waitMs);
    try {
      // The stream flows: this wait's finish came as an event.
      const heard = new Promise((r) => events.once('completed', r));
      await expect(run('disk.create-outage-warm-g1', 15000)).resolves.toEqual({ sizeBytes: 3 });
      await heard;

      const failed = new Promise((r) => events.once('error', r));
      await proxy.cut();
      await failed;

      const id = 'disk.create-outage-gated-g1';
      const finished = new Promise<void>((resolve) => {
        const on = (job: Job): void => {
          if (job.id !== id) return;
          worker.off('completed', on);
          resolve();
        };
        worker.on('completed', on);
      });
      const started = Date.now();
      const answer = run(id, 8000).catch((e: Error) => e.message);
      await waitFor(() => gates.get(id), 10000, 'the job to start');
      gates.get(id)?.();
      await finished;
      await conn.xtrim(`${prefix}:${VOLUME_QUEUE}:events`, 'MAXLEN', 0); // its 'completed' event is gone
      await proxy.open();

      expect(await answer).toEqual({ sizeBytes: 3 });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      // Closed while it waits to reconnect, ioredis would keep retrying the proxy after the test.
      const client = await events.client;
      await waitFor(() => client.status === 'ready', 10000, 'the events connection back');
      runner.close();
      await events.close();
      await producer.close();
    }
  }, 20000);
});
