#!/usr/bin/env node
// First: DEBUG must lose node-routeros' namespaces before anything loads `debug` (src/cli/debug-env.ts).
import './debug-env';
import { Command } from 'commander';
import { VERSION } from '../version';

/**
 * `rds-csi`: one binary, one CLI. Exit code 2 = bad configuration or flags, 1 = failure at run time. The operator
 * commands (doctor controller, jobs, volumes, orphans) also print tables by default and JSON with --json; for them
 * 1 also means a check failed or something was not found, and their usage errors exit 2 (src/cli/operator.ts).
 *
 * Each command's module is loaded only when it runs (issue 14 item 4): `rds-csi node` runs on every host, and
 * importing every command up front would put BullMQ, ioredis and node-routeros (the controller's and the operator
 * commands') into the node plugin's memory. test/cli/node-module-graph.test.ts checks the started node's module list.
 * With no command, an unknown one, help or --version, all of them are loaded so help and errors list them all.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  controller: async () => (await import('./commands/controller')).controllerCommand(),
  worker: async () => (await import('./commands/worker')).workerCommand(),
  node: async () => (await import('./commands/node')).nodeCommand(),
  doctor: async () => (await import('./commands/doctor')).doctorCommand(),
  jobs: async () => (await import('./commands/jobs')).jobsCommand(),
  volumes: async () => (await import('./commands/volumes')).volumesCommand(),
  orphans: async () => (await import('./commands/orphans')).orphansCommand(),
  'all-in-one': async () => (await import('./commands/all-in-one')).allInOneCommand(),
  simulator: async () => (await import('./commands/simulator')).simulatorCommand(),
};

/** The commands this invocation needs: the one named first on the command line, or all of them. */
function commandsFor(argv: readonly string[]): string[] {
  const name = argv[2];
  return name !== undefined && Object.hasOwn(COMMANDS, name) ? [name] : Object.keys(COMMANDS);
}

async function main(): Promise<void> {
  const program = new Command('rds-csi').version(VERSION).description('Kubernetes CSI driver for MikroTik ROSE Data Server');
  for (const name of commandsFor(process.argv)) program.addCommand(await COMMANDS[name]());
  await program.parseAsync(process.argv);
}

main().catch((err: Error) => {
  const isConfig = err.name === 'ConfigError' || err.constructor.name === 'ConfigError';
  process.stderr.write(`rds-csi: ${err.message}\n`);
  process.exit(isConfig ? 2 : 1);
});
