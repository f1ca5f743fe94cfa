import { Command } from 'commander';
import { addConfigOptions } from '../../config/options';
import { checkRdsTransports } from '../../runtime/rds-transport';
import { configFromFlags, loggerFor, runUntilSignal, type CommonFlags } from '../common';

export function controllerCommand(): Command {
  return addConfigOptions(new Command('controller'), 'controller')
    .description('CSI Identity + Controller service; enqueues jobs for the workers')
    .requiredOption('--endpoint <endpoint>', 'unix:///PATH or tcp://HOST:PORT')
    .option('--http-listen <host:port>', 'serve /metrics, /healthz and (with a credential) the job dashboard on /dashboard')
    .option('--with-worker', 'also run a worker in this process')
    .action(async (flags: CommonFlags & { endpoint: string; httpListen?: string; withWorker?: boolean }) => {
      const cfg = configFromFlags('controller', flags);
      const log = loggerFor(cfg, 'rds-csi-controller');
      checkRdsTransports(cfg, log);
      const { startController } = await import('../../runtime/controller-app');
      const app = await startController(cfg, { endpoint: flags.endpoint, httpListen: flags.httpListen, withWorker: flags.withWorker }, log);
      runUntilSignal(log, () => app.close());
    });
}
