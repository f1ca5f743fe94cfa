import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError, configEnvNames, loadConfig } from '../../src/config/load';
import { authorized, challenge, dashboardAccess, safeEqual, type DashboardConfig } from '../../src/dashboard/auth';
import { addConfigOptions, configOverrides, type Overrides } from '../../src/config/options';

/** Who gets into the job dashboard: credential files, the Authorization header, config keys, env names and flags. */
describe('dashboard access', () => {
  let dir: string;
  const file = (name: string, text: string): string => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const cfg = (c: Partial<DashboardConfig>): DashboardConfig => ({ readOnly: true, insecureNoAuth: false, listen: '127.0.0.1:0', ...c });
  const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-dash-auth-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is off by default: no credential and no insecure flag', () => {
    expect(dashboardAccess(loadConfig({}, {}).dashboard)).toEqual({ mode: 'off' });
    expect(dashboardAccess(cfg({ readOnly: false }))).toEqual({ mode: 'off' });
  });

  it('is on without auth only with insecureNoAuth, and a credential always wins over that flag', () => {
    expect(dashboardAccess(cfg({ insecureNoAuth: true }))).toEqual({ mode: 'insecure', readOnly: true });
    const both = dashboardAccess(cfg({ insecureNoAuth: true, tokenFile: file('t', 'abc\n') }));
    expect(both).toMatchObject({ mode: 'auth', credentials: { token: 'abc' }, insecureFlagIgnored: true });
  });

  it('reads "user:password" (the password may hold colons), separate files, and a token; trailing newlines dropped', () => {
    expect(dashboardAccess(cfg({ basicAuthFile: file('b', 'ops:a:b c\n') }))).toMatchObject({
      mode: 'auth',
      credentials: { basic: { user: 'ops', password: 'a:b c' } },
    });
    expect(
      dashboardAccess(cfg({ basicAuthUserFile: file('u', 'ops\n'), basicAuthPasswordFile: file('p', 'pw\r\n'), tokenFile: file('t2', 'tok') })),
    ).toMatchObject({
      mode: 'auth',
      credentials: { basic: { user: 'ops', password: 'pw' }, token: 'tok' },
      readOnly: true,
    });
  });

  it.each([
    [{ tokenFile: '/nonexistent/token' }, /cannot read dashboard\.tokenFile/],
    [{ tokenFile: 'EMPTY' }, /dashboard\.tokenFile .* is empty/],
    [{ basicAuthFile: 'NOCOLON' }, /expected one line "user:password"/],
    [{ basicAuthFile: 'NOUSER' }, /expected one line "user:password"/],
    [{ basicAuthFile: 'NOPASS' }, /expected one line "user:password"/],
    [{ basicAuthUserFile: 'USER' }, /go together/],
    [{ basicAuthFile: 'USER', basicAuthPasswordFile: 'USER' }, /either basicAuthFile or/],
  ])('refuses %p with a config error', (c, message) => {
    const files: Record<string, string> = { EMPTY: ' \n', NOCOLON: 'ops', NOUSER: ':pw', NOPASS: 'ops:', USER: 'ops' };
    const resolved = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v in files ? file(v, files[v]) : v]));
    expect(() => dashboardAccess(cfg(resolved))).toThrow(ConfigError);
    expect(() => dashboardAccess(cfg(resolved))).toThrow(message);
  });

  it('compares in constant time over hashes, so lengths do not matter to the comparison', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });

  it('accepts the configured basic pair, a bearer token, or the token as a basic password, and nothing else', () => {
    const both = { basic: { user: 'ops', password: 'pw' }, token: 'tok' };
    expect(authorized(basic('ops', 'pw'), both)).toBe(true);
    expect(authorized('Bearer tok', both)).toBe(true);
    expect(authorized('bearer   tok  ', both)).toBe(true);
    expect(authorized(basic('anyone', 'tok'), both)).toBe(true);
    for (const h of [
      undefined,
      '',
      'Bearer',
      'Bearer tok extra',
      'Bearer pw',
      basic('ops', 'tok2'),
      basic('op', 'pw'),
      basic('ops', 'pw '),
      'Basic b3Bz',
      'Digest x',
      basic('ops:pw', ''),
    ]) {
      expect([h, authorized(h, both)]).toEqual([h, false]);
    }
    expect(authorized('Bearer pw', { basic: { user: 'ops', password: 'pw' } })).toBe(false);
    expect(authorized(basic('x', 'tok'), { basic: { user: 'ops', password: 'pw' } })).toBe(false);
    expect(challenge({ basic: both.basic })).toEqual(['Basic realm="rds-csi dashboard", charset="UTF-8"']);
    expect(challenge(both)).toHaveLength(2);
  });

  it('has config keys with RDS_CSI_DASHBOARD_* env names; read-only on and insecure off by default', () => {
    expect(configEnvNames()).toEqual(
      expect.arrayContaining([
        'RDS_CSI_DASHBOARD_BASIC_AUTH_FILE',
        'RDS_CSI_DASHBOARD_BASIC_AUTH_USER_FILE',
        'RDS_CSI_DASHBOARD_BASIC_AUTH_PASSWORD_FILE',
        'RDS_CSI_DASHBOARD_TOKEN_FILE',
        'RDS_CSI_DASHBOARD_READ_ONLY',
        'RDS_CSI_DASHBOARD_INSECURE_NO_AUTH',
        'RDS_CSI_DASHBOARD_LISTEN',
      ]),
    );
    expect(loadConfig({}, {}).dashboard).toEqual({ readOnly: true, insecureNoAuth: false, listen: '127.0.0.1:9810' });
    const env = {
      RDS_CSI_DASHBOARD_TOKEN_FILE: '/s/token',
      RDS_CSI_DASHBOARD_READ_ONLY: 'false',
      RDS_CSI_DASHBOARD_INSECURE_NO_AUTH: 'true',
      RDS_CSI_DASHBOARD_LISTEN: '0.0.0.0:9900',
    };
    expect(loadConfig({}, env).dashboard).toEqual({ tokenFile: '/s/token', readOnly: false, insecureNoAuth: true, listen: '0.0.0.0:9900' });
    expect(() => loadConfig({}, { RDS_CSI_DASHBOARD_READ_ONLY: 'perhaps' })).toThrow(/dashboard\.readOnly/);
    expect(() => loadConfig({}, { RDS_CSI_DASHBOARD_LISTEN: 'localhost' })).toThrow(/dashboard\.listen/);
  });

  it('maps the controller flags to the same keys; absent flags leave env and file values alone', () => {
    const parse = (args: string[]): Overrides =>
      configOverrides('controller', addConfigOptions(new Command('controller'), 'controller').exitOverride().parse(args, { from: 'user' }).opts());
    const env = { RDS_CSI_DASHBOARD_READ_ONLY: 'false', RDS_CSI_DASHBOARD_INSECURE_NO_AUTH: 'true', RDS_CSI_DASHBOARD_TOKEN_FILE: '/env/token' };
    expect(loadConfig(parse([]), env).dashboard).toEqual({
      tokenFile: '/env/token',
      readOnly: false,
      insecureNoAuth: true,
      listen: '127.0.0.1:9810',
    });
    const all = parse([
      '--dashboard-basic-auth-file',
      '/s/basic',
      '--dashboard-basic-auth-user-file',
      '/s/u',
      '--dashboard-basic-auth-password-file',
      '/s/p',
      '--dashboard-token-file',
      '/s/t',
      '--dashboard-read-write',
      '--dashboard-insecure-no-auth',
      '--dashboard-listen',
      '127.0.0.1:9900',
    ]);
    expect(loadConfig(all, {}).dashboard).toEqual({
      basicAuthFile: '/s/basic',
      basicAuthUserFile: '/s/u',
      basicAuthPasswordFile: '/s/p',
      tokenFile: '/s/t',
      readOnly: false,
      insecureNoAuth: true,
      listen: '127.0.0.1:9900',
    });
    expect(loadConfig(parse(['--dashboard-token-file', '/flag/token']), env).dashboard.tokenFile).toBe('/flag/token');
  });
});
