/**
 * Who may open the job dashboard. The credential comes from files (a mounted Secret), never from a flag value or
 * an environment variable holding the secret itself. No credential = the dashboard is off, unless the operator
 * asked for it without authentication by name (insecureNoAuth).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load';
import type { Config } from '../config/schema';

export type DashboardConfig = Config['dashboard'];

export interface DashboardCredentials {
  basic?: { user: string; password: string };
  token?: string;
}

export type DashboardAccess =
  | { mode: 'off' }
  | { mode: 'auth'; credentials: DashboardCredentials; readOnly: boolean; insecureFlagIgnored: boolean }
  | { mode: 'insecure'; readOnly: boolean };

function readSecretFile(file: string, key: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read dashboard.${key} ${file}: ${(err as Error).message}`);
  }
  const value = text.trim();
  if (!value) throw new ConfigError(`dashboard.${key} ${file} is empty`);
  return value;
}

function basicFromConfig(c: DashboardConfig): DashboardCredentials['basic'] {
  const separate = c.basicAuthUserFile !== undefined || c.basicAuthPasswordFile !== undefined;
  if (c.basicAuthFile !== undefined && separate) {
    throw new ConfigError('dashboard: give either basicAuthFile or basicAuthUserFile + basicAuthPasswordFile, not both');
  }
  if (c.basicAuthFile !== undefined) {
    const text = readSecretFile(c.basicAuthFile, 'basicAuthFile');
    const colon = text.indexOf(':');
    if (colon <= 0 || colon === text.length - 1) {
      throw new ConfigError(`dashboard.basicAuthFile ${c.basicAuthFile}: expected one line "user:password"`);
    }
    return { user: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (separate) {
    if (c.basicAuthUserFile === undefined || c.basicAuthPasswordFile === undefined) {
      throw new ConfigError('dashboard: basicAuthUserFile and basicAuthPasswordFile go together');
    }
    return {
      user: readSecretFile(c.basicAuthUserFile, 'basicAuthUserFile'),
      password: readSecretFile(c.basicAuthPasswordFile, 'basicAuthPasswordFile'),
    };
  }
  return undefined;
}

/** Reads the credential files once, at start-up; a file that is named but unreadable or empty is a config error. */
export function dashboardAccess(c: DashboardConfig): DashboardAccess {
  const basic = basicFromConfig(c);
  const token = c.tokenFile === undefined ? undefined : readSecretFile(c.tokenFile, 'tokenFile');
  if (basic || token) return { mode: 'auth', credentials: { basic, token }, readOnly: c.readOnly, insecureFlagIgnored: c.insecureNoAuth };
  if (c.insecureNoAuth) return { mode: 'insecure', readOnly: c.readOnly };
  return { mode: 'off' };
}

/** Equal strings, in time that depends on neither their contents nor their lengths (both are hashed first). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/**
 * Checks an Authorization header and names who it authenticates (for the action log): the basic-auth user, or
 * "token". Accepted: `Bearer <token>`; `Basic` with the configured user and password; and, when a token is
 * configured, `Basic` with any user name and the token as password, so a browser can log in with the token too.
 * Every comparison runs, so the answer's timing does not say which part was wrong. undefined = not authenticated.
 */
export function principalOf(header: string | undefined, creds: DashboardCredentials): string | undefined {
  if (!header) return undefined;
  const m = /^(Basic|Bearer)\s+(\S+)\s*$/i.exec(header);
  if (!m) return undefined;
  const scheme = m[1].toLowerCase();
  const value = m[2];
  if (scheme === 'bearer') return creds.token !== undefined && safeEqual(value, creds.token) ? 'token' : undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const user = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  let basicOk = false;
  if (creds.basic) {
    const userOk = safeEqual(user, creds.basic.user);
    const passwordOk = safeEqual(password, creds.basic.password);
    basicOk = userOk && passwordOk;
  }
  let tokenOk = false;
  if (creds.token !== undefined) tokenOk = safeEqual(password, creds.token);
  if (basicOk) return creds.basic?.user;
  return tokenOk ? 'token' : undefined;
}

export function authorized(header: string | undefined, creds: DashboardCredentials): boolean {
  return principalOf(header, creds) !== undefined;
}

/** The WWW-Authenticate challenge of a 401: Basic first (browsers prompt for it), Bearer when a token is set. */
export function challenge(creds: DashboardCredentials): string[] {
  const out = ['Basic realm="rds-csi dashboard", charset="UTF-8"'];
  if (creds.token !== undefined) out.push('Bearer realm="rds-csi dashboard"');
  return out;
}
