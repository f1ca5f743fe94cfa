import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Secrets never reach the output: pino redacts the known secret-bearing keys wherever they
 * appear (CSI `secrets` maps, RouterOS passwords, Redis URLs with credentials are scrubbed by scrubUrl).
 */
export const REDACT_PATHS = [
  'secrets',
  '*.secrets',
  '*.*.secrets',
  'password',
  '*.password',
  '*.*.password',
  'token',
  '*.token',
];

export function createLogger(level: string, name = 'rds-csi', destination?: pino.DestinationStream): Logger {
  return pino(
    { name, level, redact: { paths: REDACT_PATHS, censor: '[REDACTED]' }, base: { pid: process.pid } },
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
