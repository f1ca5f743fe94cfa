import { loadConfig } from '../config/load';
import { configOverrides, type ConfigCommand } from '../config/options';
import type { Config } from '../config/schema';

export { loggerFor, runUntilSignal } from './lifecycle';

/** The config flags a command reads itself; all of them are declared in src/config/options.ts. */
export interface CommonFlags {
  config?: string;
  logLevel?: string;
  redisUrl?: string;
  rdsAddress?: string;
}

/** The Config of `command` from its parsed flags (options.ts), the RDS_CSI_* environment and --config <file>. */
export function configFromFlags(command: ConfigCommand, flags: CommonFlags): Config {
  return loadConfig(configOverrides(command, flags), process.env, flags.config);
}
