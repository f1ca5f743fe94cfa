import net from 'node:net';
import { Worker } from 'node:worker_threads';

/**
 * Real TCP endpoints on loopback for the node's backend reachability check (src/node/backend-reach.ts): a port that
 * answers, a port that refuses (nothing listens: ECONNREFUSED at once), and a port that never answers. The last one
 * is a listener with a backlog of 1 in a worker thread whose event loop is blocked, so nothing is ever accepted:
 * once its accept queue is full (two connections here) the kernel drops further SYNs and a connect just waits —
 * deterministic, unlike an "unroutable" address (this sandbox answers connects to any outside address).
 */

export interface Endpoint {
  port: number;
  close(): Promise<void>;
}

/** A listener that accepts and closes every connection. */
export async function answeringPort(): Promise<Endpoint> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A port nothing listens on (it was bound a moment ago, then closed). */
export async function refusingPort(): Promise<number> {
  const p = await answeringPort();
  await p.close();
  return p.port;
}

const HANGING_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const server = require('node:net').createServer();
server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  parentPort.postMessage(server.address().port);
  const flag = new Int32Array(workerData);
  while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 1000); // the loop never runs: nothing is accepted
  server.close();
});`;

function connectsWithin(port: number, ms: number, keep: net.Socket[]): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    keep.push(s);
    s.on('error', () => undefined);
    const timer = setTimeout(() => resolve(false), ms);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** A port whose connects never complete (see above); fills its accept queue before returning. */
export async function hangingPort(): Promise<Endpoint> {
  const flag = new SharedArrayBuffer(4);
  const worker = new Worker(HANGING_WORKER, { eval: true, workerData: flag });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('message', (p: number) => resolve(p));
    worker.once('error', reject);
  });
  const fillers: net.Socket[] = [];
  let full = false;
  for (let i = 0; i < 8 && !full; i++) full = !(await connectsWithin(port, 300, fillers));
  if (!full) throw new Error(`hangingPort: port ${port} kept accepting connections`);
  return {
    port,
    close: async () => {
      for (const s of fillers) s.destroy();
      const f = new Int32Array(flag);
      Atomics.store(f, 0, 1);
      Atomics.notify(f, 0);
      await worker.terminate();
    },
  };
}
