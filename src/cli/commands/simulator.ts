import { Command } from 'commander';
import { parseCliArgs } from '../../simulator/cli-args';

/**
 * `rds-csi simulator`: the RouterOS API simulator as its own process. Its flags are parsed by the simulator's own
 * parser (src/simulator/cli-args.ts). Prints one JSON line `{"listening":{host,port,dataDir}}` when ready; SIGINT
 * and SIGTERM close it cleanly.
 */
export function simulatorCommand(): Command {
  return new Command('simulator')
    .description(
      'RouterOS API simulator of an RDS. Flags: --data-dir DIR (required) [--host H] [--port P] [--pool NAME] [--pool-size 100G] ' +
        '[--pool-fs btrfs|xfs] [--user U] [--password P] [--empty-mode 7.18|legacy] [--latency-ms N] [--jitter-ms N] [--tls-cert F --tls-key F] [--quiet]',
    )
    .helpOption(false)
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .action(async (_opts: unknown, cmd: Command) => {
      const { startSimulator } = await import('../../simulator');
      const sim = await startSimulator(parseCliArgs(cmd.args));
      // The process runs until a signal. While a `down=yes` / `down-for-ms` fault holds the listener closed nothing
      // else keeps Node's event loop alive (the bring-back timer is unref'd so in-process simulators never hold a
      // test runner open), and the process would end with code 0 instead of coming back: hold the loop here.
      const alive = setInterval(() => undefined, 2 ** 30);
      const stop = (): void => {
        clearInterval(alive);
        sim.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      // Handlers first: a signal that arrives before a handler exists kills the process at once.
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      process.stdout.write(JSON.stringify({ listening: { host: sim.host, port: sim.port, dataDir: sim.dataDir } }) + '\n');
    });
}
