import { Command } from 'commander';
import { checkRdsTransports } from '../../runtime/rds-transport';
import { addConfigOptions } from '../../config/options';
import { configFromFlags, loggerFor, runUntilSignal, type CommonFlags } from '../common';

export function workerCommand(): Command {
  return addConfigOptions(new Command('worker'), 'worker')
    .description('run volume jobs from the queue against RDS')
    .option('--http-listen <host:port>', 'serve /metrics and /healthz')
    .action(async (flags: CommonFlags & { httpListen?: string }) => {
      const cfg = configFromFlags('worker', flags);
      const log = loggerFor(cfg, 'rds-csi-worker');
      checkRdsTransports(cfg, log);
      const { startWorker } = await import('../../runtime/worker-app');
      const app = await startWorker(cfg, log, { httpListen: flags.httpListen });
      runUntilSignal(log, () => app.close());
    });
}
