/**
 * The RouterOS API without TLS sends the login password and every command in clear, so it is never the silent
 * default: a process that talks to an RDS (controller, worker, all-in-one with --rds-address) refuses to start
 * unless TLS is configured or plain API was chosen explicitly (rds.insecurePlaintext), and then says so in its log.
 * Every extra RDS backend (issue 16, `backends[i]`) follows the same rule with its own `tls` / `insecurePlaintext`:
 * the primary's choice says nothing about another RDS's network path.
 */
import { ConfigError } from '../config/load';
import type { Config, RdsConfig } from '../config/schema';
import type { Logger } from '../log/logger';

export const PLAINTEXT_REFUSED =
  'refusing to talk to RDS over the plain RouterOS API: the password would cross the network in clear. ' +
  'Use api-ssl: --rds-tls --rds-ca-file <ca.pem> and the api-ssl port (RDS_CSI_RDS_TLS=true, RDS_CSI_RDS_CA_FILE, rds.port 8729), ' +
  'or accept plain API explicitly: --rds-insecure-plaintext (RDS_CSI_RDS_INSECURE_PLAINTEXT=true, rds.insecurePlaintext)';

/** The refusal for extra backend `name`, the `i`-th entry of `backends`. */
export function backendPlaintextRefused(name: string, i: number): string {
  return (
    `refusing to talk to RDS backend ${name} over the plain RouterOS API: the password would cross the network in clear. ` +
    `Use api-ssl: backends[${i}].tls true, backends[${i}].caFile and the api-ssl port (backends[${i}].port 8729), ` +
    `or accept plain API for this backend explicitly: backends[${i}].insecurePlaintext true`
  );
}

type Transport = Pick<RdsConfig, 'tls' | 'insecurePlaintext' | 'host' | 'port'>;

function warnPlaintext(rds: Transport, log: Logger, backend: { name: string; i: number } | undefined): void {
  const key = backend ? `backends[${backend.i}]` : 'rds';
  log.warn(
    {
      ...(backend ? { backend: backend.name } : {}),
      rds: `${rds.host}:${rds.port}`,
      fix: `use api-ssl: ${key}.tls=true, ${key}.caFile, ${key}.port=8729`,
    },
    `RDS over the plain RouterOS API (${key}.insecurePlaintext): the RDS password and every command cross the network unencrypted`,
  );
}

export function checkRdsTransport(rds: RdsConfig, log: Logger): void {
  if (rds.tls) return;
  if (!rds.insecurePlaintext) throw new ConfigError(PLAINTEXT_REFUSED);
  warnPlaintext(rds, log, undefined);
}

/**
 * The rule for every backend of `cfg`: the primary (unless `primary: false`, all-in-one's embedded simulator on
 * loopback) and each entry of `backends`. The first backend refused stops the start; each plaintext one allowed warns.
 */
export function checkRdsTransports(cfg: Pick<Config, 'rds' | 'backends'>, log: Logger, opts: { primary?: boolean } = {}): void {
  if (opts.primary !== false) checkRdsTransport(cfg.rds, log);
  for (const [i, b] of cfg.backends.entries()) {
    if (b.tls) continue;
    if (!b.insecurePlaintext) throw new ConfigError(backendPlaintextRefused(b.name, i));
    warnPlaintext(b, log, { name: b.name, i });
  }
}
