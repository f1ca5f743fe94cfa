import { loadConfig } from '../config/load';
import { configOverrides, type ConfigCommand } from '../config/options';
import type { Config } from '../config/schema';
import { createLogger, type Logger } from '../log/logger';

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

/** Runs a long-lived server until SIGTERM/SIGINT, then closes it cleanly. */
export function runUntilSignal(log: Logger, close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    close().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ err: err.message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

export function loggerFor(cfg: Config, name: string): Logger {
  return createLogger(cfg.logLevel, name);
}
