import { Command } from 'commander';
import { startController } from '../../runtime/controller-app';
import { addCommonOptions, configFromFlags, loggerFor, runUntilSignal, type CommonFlags } from '../common';

export function controllerCommand(): Command {
  return addCommonOptions(new Command('controller'))
    .description('CSI Identity + Controller service; enqueues jobs for the workers')
    .requiredOption('--endpoint <endpoint>', 'unix:///PATH or tcp://HOST:PORT')
    .option('--http-listen <host:port>', 'serve /metrics and /healthz')
    .option('--with-worker', 'also run a worker in this process')
    .action(async (flags: CommonFlags & { endpoint: string; httpListen?: string; withWorker?: boolean }) => {
      const cfg = configFromFlags(flags);
      const log = loggerFor(cfg, 'rds-csi-controller');
      const app = await startController(cfg, { endpoint: flags.endpoint, httpListen: flags.httpListen, withWorker: flags.withWorker }, log);
      runUntilSignal(log, () => app.close());
    });
}
