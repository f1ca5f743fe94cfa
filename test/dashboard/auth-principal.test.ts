import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { challenge, dashboardAccess, principalOf, type DashboardConfig } from '../../src/dashboard/auth';

/**
 * Who the dashboard's Authorization header names (the action log's principal), and the access object's flags as
 * configured; the edges auth.test.ts leaves open (found by the mutation tier, test/mutation/REPORT.md).
 */
describe('dashboard principal and access flags', () => {
  let dir: string;
  const cfg = (c: Partial<DashboardConfig>): DashboardConfig => ({ readOnly: true, insecureNoAuth: false, listen: '127.0.0.1:0', ...c });
  const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const both = { basic: { user: 'ops', password: 'pw' }, token: 'tok' };

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'rds-csi-dash-principal-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    { header: basic('ops', 'pw'), creds: both, principal: 'ops' },
    { header: 'Bearer tok', creds: both, principal: 'token' },
    { header: 'BASIC ' + Buffer.from('ops:pw').toString('base64'), creds: both, principal: 'ops' },
    { header: basic('ops', 'tok'), creds: both, principal: 'token' },
    { header: basic('someone', 'tok'), creds: { token: 'tok' }, principal: 'token' },
    { header: basic('ops', 'pw'), creds: { token: 'tok' }, principal: undefined },
    { header: basic('ops', 'nope'), creds: { basic: both.basic }, principal: undefined },
    { header: basic('nope', 'pw'), creds: { basic: both.basic }, principal: undefined },
    { header: 'Bearer tok', creds: { basic: both.basic }, principal: undefined },
    { header: `Basic ${Buffer.from('ops').toString('base64')}`, creds: { basic: { user: 'ops', password: '' } }, principal: undefined },
    // No colon: not a basic credential at all, even when the whole value is the token.
    { header: `Basic ${Buffer.from('tok').toString('base64')}`, creds: { token: 'tok' }, principal: undefined },
    { header: basic('', 'pw'), creds: { basic: { user: '', password: 'pw' } }, principal: '' },
    { header: ` ${basic('ops', 'pw')}`, creds: both, principal: undefined },
    { header: `x${basic('ops', 'pw')}`, creds: both, principal: undefined },
  ])('$header with $creds names $principal', ({ header, creds, principal }) => {
    expect(principalOf(header, creds)).toBe(principal);
  });

  it('the Bearer challenge is offered only with a token', () => {
    expect(challenge({ token: 't' })).toEqual(['Basic realm="rds-csi dashboard", charset="UTF-8"', 'Bearer realm="rds-csi dashboard"']);
    expect(challenge({})).toEqual(['Basic realm="rds-csi dashboard", charset="UTF-8"']);
  });

  it.each([true, false])('passes readOnly=%p through, and says whether the insecure flag was ignored', (readOnly) => {
    const tokenFile = path.join(dir, `t-${readOnly}`);
    writeFileSync(tokenFile, 'tok\n');
    expect(dashboardAccess(cfg({ readOnly, tokenFile }))).toEqual({
      mode: 'auth',
      credentials: { basic: undefined, token: 'tok' },
      readOnly,
      insecureFlagIgnored: false,
    });
    expect(dashboardAccess(cfg({ readOnly, insecureNoAuth: true }))).toEqual({ mode: 'insecure', readOnly });
  });

  it('names the file and key of an unreadable or empty secret', () => {
    const empty = path.join(dir, 'empty');
    writeFileSync(empty, '\n\n');
    expect(() => dashboardAccess(cfg({ basicAuthUserFile: empty, basicAuthPasswordFile: empty }))).toThrow(
      `dashboard.basicAuthUserFile ${empty} is empty`,
    );
    const user = path.join(dir, 'user');
    writeFileSync(user, 'ops\n');
    expect(() => dashboardAccess(cfg({ basicAuthUserFile: user, basicAuthPasswordFile: empty }))).toThrow(
      `dashboard.basicAuthPasswordFile ${empty} is empty`,
    );
    const missing = path.join(dir, 'missing');
    expect(() => dashboardAccess(cfg({ basicAuthFile: missing }))).toThrow(`cannot read dashboard.basicAuthFile ${missing}: ENOENT`);
    expect(() => dashboardAccess(cfg({ basicAuthPasswordFile: missing }))).toThrow(
      'dashboard: basicAuthUserFile and basicAuthPasswordFile go together',
    );
  });
});
