/**
 * Entry of a process that runs one BullMQ Worker with a no-op processor: the separate-process half of the queue's
 * floor (bullmq-floor.ts). Forked by forkIpc; arguments: redis URL, queue name, key prefix.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

async function main(): Promise<void> {
  const [redisUrl, queue, prefix] = process.argv.slice(2);
  const worker = new Worker(queue, () => Promise.resolve({ ok: true }), {
    connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
    prefix,
    concurrency: 32,
  });
  await worker.waitUntilReady();
  process.on('message', (m: { id: number; op: string }) => {
    worker.close().then(
      () => {
        process.send?.({ id: m.id, result: null });
        process.disconnect();
      },
      (err: Error) => process.send?.({ id: m.id, error: err.message }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ ready: true });
}

main().catch((err: Error) => {
  process.stderr.write(`bench noop worker: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
