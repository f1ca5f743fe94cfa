/**
 * The RDS backends an operator command reads (issue 16): every configured one (src/rds/backends.ts), or the one
 * named by `--backend NAME`. A name the configuration does not have is bad usage (exit 2) naming those it has.
 */
import type { Command } from 'commander';
import type { Config } from '../config/schema';
import { backendsFromConfig, type Backend, type RdsBackends } from '../rds/backends';
import { UsageError } from './exit-codes';

export interface BackendChoice {
  /** Every configured backend, each with its own (lazily connected) RouterOS port: close() when done. */
  all: RdsBackends;
  /** The backends to read, the primary first. */
  chosen: Backend[];
  /** The configuration has more than one backend: output names the backend of each row or section. */
  several: boolean;
}

export function addBackendOption(cmd: Command, what: string): Command {
  return cmd.option(
    '--backend <name>',
    `only this RDS backend (rds.backend or a backends[].name); default: every configured backend${what ? ` ${what}` : ''}`,
  );
}

/** The configured names, the primary first (checked before any RouterOS port is made). */
function namesOf(cfg: Pick<Config, 'rds' | 'backends'>): string[] {
  return [cfg.rds.backend, ...cfg.backends.map((b) => b.name)];
}

/** Bad usage (exit 2) unless `name` is undefined or a configured backend; whether several are configured. */
export function checkBackendName(cfg: Pick<Config, 'rds' | 'backends'>, name: string | undefined): { several: boolean } {
  const names = namesOf(cfg);
  if (name !== undefined && !names.includes(name)) {
    throw new UsageError(`--backend ${name}: no such RDS backend in this configuration (configured: ${names.join(', ')})`);
  }
  return { several: names.length > 1 };
}

export function chooseBackends(cfg: Config, name: string | undefined): BackendChoice {
  const { several } = checkBackendName(cfg, name);
  const all = backendsFromConfig(cfg);
  return { all, chosen: all.list.filter((b) => name === undefined || b.name === name), several };
}
