/**
 * Entry of a process that runs one BullMQ Worker with a no-op processor: the separate-process half of the queue's
 * floor (bullmq-floor.ts). Forked by forkIpc; arguments: redis URL, queue name, key prefix.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { serveIpc } from './ipc-serve';

async function main(): Promise<void> {
  const [redisUrl, queue, prefix] = process.argv.slice(2);
  const worker = new Worker(queue, () => Promise.resolve({ ok: true }), {
    connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
    prefix,
    concurrency: 32,
  });
  await worker.waitUntilReady();
  serveIpc(() => worker.close());
}

main().catch((err: Error) => {
  process.stderr.write(`bench noop worker: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
