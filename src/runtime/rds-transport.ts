/**
 * The RouterOS API without TLS sends the login password and every command in clear, so it is never the silent
 * default: a process that talks to an RDS (controller, worker, all-in-one with --rds-address) refuses to start
 * unless TLS is configured or plain API was chosen explicitly (rds.insecurePlaintext), and then says so in its log.
 */
import { ConfigError } from '../config/load';
import type { Config, RdsConfig } from '../config/schema';
import type { Logger } from '../log/logger';

export const PLAINTEXT_REFUSED =
  'refusing to talk to RDS over the plain RouterOS API: the password would cross the network in clear. ' +
  'Use api-ssl: --rds-tls --rds-ca-file <ca.pem> and the api-ssl port (RDS_CSI_RDS_TLS=true, RDS_CSI_RDS_CA_FILE, rds.port 8729), ' +
  'or accept plain API explicitly: --rds-insecure-plaintext (RDS_CSI_RDS_INSECURE_PLAINTEXT=true, rds.insecurePlaintext)';

export function checkRdsTransport(rds: RdsConfig, log: Logger): void {
  if (rds.tls) return;
  if (!rds.insecurePlaintext) throw new ConfigError(PLAINTEXT_REFUSED);
  log.warn(
    { rds: `${rds.host}:${rds.port}`, fix: 'use api-ssl: rds.tls=true, rds.caFile, rds.port=8729' },
    'RDS over the plain RouterOS API (rds.insecurePlaintext): the RDS password and every command cross the network unencrypted',
  );
}

/**
 * The same rule for every RDS backend (issue 16): the primary (`rds`) and each `backends` entry, which has its own
 * `tls` and `insecurePlaintext` (a backend's password would cross the network in clear just the same).
 */
export function checkRdsTransports(cfg: Pick<Config, 'rds' | 'backends'>, log: Logger): void {
  checkRdsTransport(cfg.rds, log);
  for (const [i, b] of cfg.backends.entries()) {
    if (b.tls) continue;
    if (!b.insecurePlaintext) {
      throw new ConfigError(
        `refusing to talk to RDS backend ${b.name} over the plain RouterOS API: its password would cross the network in clear. ` +
          `Set backends[${i}].tls=true with backends[${i}].caFile and the api-ssl port, or accept plain API for it explicitly: backends[${i}].insecurePlaintext=true`,
      );
    }
    log.warn(
      { backend: b.name, rds: `${b.host}:${b.port}`, fix: `use api-ssl: backends[${i}].tls=true, caFile, port 8729` },
      'RDS over the plain RouterOS API (insecurePlaintext): the RDS password and every command cross the network unencrypted',
    );
  }
}
