import pino, { type Logger } from 'pino';
import { errorSerializer } from './error-serializer';

export type { Logger };

/**
 * Structured JSON logs. Secrets never reach the output: pino redacts the known secret-bearing keys wherever they
 * appear (CSI `secrets` maps, RouterOS passwords, Redis URLs with credentials are scrubbed by scrubUrl), and an
 * error under `err` or `error` is reduced to type, message, stack and a few scalar fields (error-serializer.ts): a
 * library error's other properties (ioredis' `command.args`, holding the AUTH password) never reach the output.
 */
export const REDACT_PATHS = ['secrets', '*.secrets', '*.*.secrets', 'password', '*.password', '*.*.password', 'token', '*.token'];

export function createLogger(level: string, name = 'rds-csi', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      serializers: { err: errorSerializer, error: errorSerializer },
      base: { pid: process.pid },
    },
    destination,
  );
}

/** redis://user:pass@host → redis://user:***@host, so connection strings can be logged. */
export function scrubUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
