import type { Command } from 'commander';
import type { Overrides } from '../config/load';

/** `rds-csi controller` flags of the job dashboard; each maps to one `dashboard.*` key (env RDS_CSI_DASHBOARD_*). */
export interface DashboardFlags {
  dashboardBasicAuthFile?: string;
  dashboardBasicAuthUserFile?: string;
  dashboardBasicAuthPasswordFile?: string;
  dashboardTokenFile?: string;
  dashboardReadWrite?: boolean;
  dashboardInsecureNoAuth?: boolean;
  dashboardListen?: string;
}

export function addDashboardOptions(cmd: Command): Command {
  return cmd
    .option('--dashboard-basic-auth-file <file>', 'job dashboard (/dashboard on --dashboard-listen) with basic auth; file holds "user:password"')
    .option('--dashboard-basic-auth-user-file <file>', 'job dashboard basic auth: file holding the user (with --dashboard-basic-auth-password-file)')
    .option('--dashboard-basic-auth-password-file <file>', 'job dashboard basic auth: file holding the password')
    .option('--dashboard-token-file <file>', 'job dashboard (/dashboard on --dashboard-listen) with a bearer token read from this file')
    .option('--dashboard-read-write', 'let the dashboard retry failed jobs, clean, promote, pause and resume (default: read-only); nothing else')
    .option('--dashboard-listen <host:port>', 'address of the job dashboard\'s own HTTP server (default 127.0.0.1:9810; never the metrics port)')
    .option('--dashboard-insecure-no-auth', 'DANGEROUS: serve the job dashboard with NO authentication when no credential is configured');
}

export function dashboardOverrides(f: DashboardFlags): Overrides {
  return {
    'dashboard.basicAuthFile': f.dashboardBasicAuthFile,
    'dashboard.basicAuthUserFile': f.dashboardBasicAuthUserFile,
    'dashboard.basicAuthPasswordFile': f.dashboardBasicAuthPasswordFile,
    'dashboard.tokenFile': f.dashboardTokenFile,
    'dashboard.readOnly': f.dashboardReadWrite ? false : undefined,
    'dashboard.insecureNoAuth': f.dashboardInsecureNoAuth ? true : undefined,
    'dashboard.listen': f.dashboardListen,
  };
}
