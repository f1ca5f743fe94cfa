#!/usr/bin/env node
import { Command } from 'commander';
import { VERSION } from '../version';
import { allInOneCommand } from './commands/all-in-one';
import { controllerCommand } from './commands/controller';
import { simulatorCommand } from './commands/simulator';
import { workerCommand } from './commands/worker';
import { nodeCommand } from './commands/node';
import { doctorCommand } from './commands/doctor';

/** `rds-csi`: one binary, one CLI. Exit code 2 = bad configuration or flags, 1 = failure at run time. */
const program = new Command('rds-csi')
  .version(VERSION)
  .description('Kubernetes CSI driver for MikroTik ROSE Data Server')
  .addCommand(controllerCommand())
  .addCommand(workerCommand())
  .addCommand(nodeCommand())
  .addCommand(doctorCommand())
  .addCommand(allInOneCommand())
  .addCommand(simulatorCommand());

program.parseAsync(process.argv).catch((err: Error) => {
  const isConfig = err.name === 'ConfigError' || err.constructor.name === 'ConfigError';
  process.stderr.write(`rds-csi: ${err.message}\n`);
  process.exit(isConfig ? 2 : 1);
});
