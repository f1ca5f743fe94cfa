#!/usr/bin/env node
// First: DEBUG must lose node-routeros' namespaces before anything loads `debug` (src/cli/debug-env.ts).
import './debug-env';
import { Command } from 'commander';
import { VERSION } from '../version';
import { allInOneCommand } from './commands/all-in-one';
import { controllerCommand } from './commands/controller';
import { simulatorCommand } from './commands/simulator';
import { workerCommand } from './commands/worker';
import { nodeCommand } from './commands/node';
import { doctorCommand } from './commands/doctor';
import { jobsCommand } from './commands/jobs';
import { volumesCommand } from './commands/volumes';
import { orphansCommand } from './commands/orphans';

/**
 * `rds-csi`: one binary, one CLI. Exit code 2 = bad configuration or flags, 1 = failure at run time. The operator
 * commands (doctor controller, jobs, volumes, orphans) also print tables by default and JSON with --json; for them
 * 1 also means a check failed or something was not found, and their usage errors exit 2 (src/cli/operator.ts).
 */
const program = new Command('rds-csi')
  .version(VERSION)
  .description('Kubernetes CSI driver for MikroTik ROSE Data Server')
  .addCommand(controllerCommand())
  .addCommand(workerCommand())
  .addCommand(nodeCommand())
  .addCommand(doctorCommand())
  .addCommand(jobsCommand())
  .addCommand(volumesCommand())
  .addCommand(orphansCommand())
  .addCommand(allInOneCommand())
  .addCommand(simulatorCommand());

program.parseAsync(process.argv).catch((err: Error) => {
  const isConfig = err.name === 'ConfigError' || err.constructor.name === 'ConfigError';
  process.stderr.write(`rds-csi: ${err.message}\n`);
  process.exit(isConfig ? 2 : 1);
});
