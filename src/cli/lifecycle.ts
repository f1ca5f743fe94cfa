import type { Config } from '../config/schema';
import { createLogger, type Logger } from '../log/logger';

/**
 * What every long-lived command does around its server: its logger, and running until a signal. Apart from
 * common.ts so that `rds-csi node`, which loads its config without zod (src/config/node-config.ts), can use it
 * without loading loadConfig (issue 14 item 4).
 */

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

export function loggerFor(cfg: Pick<Config, 'logLevel'>, name: string): Logger {
  return createLogger(cfg.logLevel, name);
}
