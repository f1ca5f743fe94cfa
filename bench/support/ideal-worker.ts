/**
 * Entry of a worker process whose RDS is the ideal one (ideal-rds.ts): the real startWorker() (BullMQ worker,
 * lease, processors, metrics) with only the RdsPort replaced. Forked by stack.ts; answers `stats` over IPC.
 * Arguments: redis URL, concurrency, latency ms, metrics host:port.
 */
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/log/logger';
import { startWorker } from '../../src/runtime/worker-app';
import { idealRds } from './ideal-rds';
import { serveIpc } from './ipc-serve';

async function main(): Promise<void> {
  const [redisUrl, concurrency, latency, httpListen] = process.argv.slice(2);
  const cfg = loadConfig({ redisUrl, 'worker.concurrency': concurrency, logLevel: 'warn' }, {});
  const rds = idealRds(Number(latency));
  await rds.calibrate();
  const app = await startWorker(cfg, createLogger('warn', 'bench-ideal-worker'), { rds: rds.port, httpListen });
  serveIpc(() => app.close(), { stats: () => rds.commands(), elapsed: () => rds.elapsedMs() });
}

main().catch((err: Error) => {
  process.stderr.write(`bench ideal worker: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
