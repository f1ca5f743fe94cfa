import { Command } from 'commander';
import { checkRdsTransports } from '../../runtime/rds-transport';
import { addConfigOptions } from '../../config/options';
import { configFromFlags, loggerFor, runUntilSignal, type CommonFlags } from '../common';

interface Flags extends CommonFlags {
  controllerEndpoint: string;
  nodeEndpoint: string;
  dataDir?: string;
  httpListen?: string;
  simulatorLatencyMs?: string;
  simulators: string;
}

export function allInOneCommand(): Command {
  return addConfigOptions(new Command('all-in-one'), 'all-in-one')
    .description('controller + worker + node endpoint, with a private redis-server and the embedded RDS simulator unless given')
    .requiredOption('--controller-endpoint <endpoint>', 'unix:///PATH for the controller')
    .requiredOption('--node-endpoint <endpoint>', 'unix:///PATH for the node plugin')
    .option('--data-dir <dir>', 'simulator data dir (default: a new temp dir, removed when all-in-one stops)')
    .option('--http-listen <host:port>', 'serve /metrics and /healthz')
    .option('--simulator-latency-ms <ms>', 'latency of every simulated RouterOS command')
    .option(
      '--simulators <n>',
      'embedded simulators to start: the first is the primary RDS, each further one an extra backend rds-b, rds-c, … ' +
        '(data in <data-dir>-rds-b, …); each is announced on stdout as "SIMULATOR <backend> <host:port> <data dir>" before READY',
      '1',
    )
    .action(async (flags: Flags) => {
      const cfg = configFromFlags('all-in-one', { ...flags, rdsAddress: undefined, redisUrl: undefined });
      const log = loggerFor(cfg, 'rds-csi');
      // The embedded simulator listens on loopback; an RDS given with --rds-address follows the controller's rule.
      if (flags.rdsAddress) checkRdsTransports(cfg, log);
      const { startAllInOne } = await import('../../runtime/all-in-one');
      const { waitForSockets } = await import('../../runtime/wait-sockets');
      const aio = await startAllInOne(
        cfg,
        {
          controllerEndpoint: flags.controllerEndpoint,
          nodeEndpoint: flags.nodeEndpoint,
          redisUrl: flags.redisUrl,
          rdsAddress: flags.rdsAddress,
          dataDir: flags.dataDir,
          httpListen: flags.httpListen,
          simulatorLatencyMs: flags.simulatorLatencyMs ? Number(flags.simulatorLatencyMs) : undefined,
          simulators: Number(flags.simulators),
        },
        log,
      );
      if (aio.extraSimulators.length && aio.simulator) {
        for (const { name, simulator: s } of [{ name: cfg.rds.backend, simulator: aio.simulator }, ...aio.extraSimulators])
          process.stdout.write(`SIMULATOR ${name} ${s.host}:${s.port} ${s.dataDir}\n`);
      }
      runUntilSignal(log, () => aio.close());
      await waitForSockets([flags.controllerEndpoint, flags.nodeEndpoint], 30000);
      process.stdout.write('READY\n');
    });
}
