import { Command } from 'commander';
import { checkRdsTransport } from '../../runtime/rds-transport';
import { addCommonOptions, configFromFlags, loggerFor, runUntilSignal, type CommonFlags } from '../common';

export function workerCommand(): Command {
  return addCommonOptions(new Command('worker'))
    .description('run volume jobs from the queue against RDS')
    .option('--concurrency <n>', 'jobs at once')
    .option('--http-listen <host:port>', 'serve /metrics and /healthz')
    .action(async (flags: CommonFlags & { concurrency?: string; httpListen?: string }) => {
      const cfg = configFromFlags(flags, { 'worker.concurrency': flags.concurrency });
      const log = loggerFor(cfg, 'rds-csi-worker');
      checkRdsTransport(cfg.rds, log);
      const { startWorker } = await import('../../runtime/worker-app');
      const app = await startWorker(cfg, log, { httpListen: flags.httpListen });
      runUntilSignal(log, () => app.close());
    });
}
