/** api-ssl: the same protocol over TLS when the simulator is given a certificate (self-signed, made with openssl). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WireClient } from '../support/wire-client';
import { startHarness, tempDir, type SimHarness } from './helpers';
import { describeIf } from '../support/prereq';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const maybe = describeIf(hasOpenssl(), 'openssl (to make the certificate)');

maybe('simulator over TLS (api-ssl)', () => {
  let h: SimHarness;
  beforeAll(async () => {
    const certDir = tempDir();
    const key = join(certDir, 'key.pem');
    const cert = join(certDir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=rds-sim'], {
      stdio: 'ignore',
    });
    h = await startHarness({ tls: { cert: readFileSync(cert), key: readFileSync(key) } });
  });
  afterAll(() => h.stop());

  it('logs in and prints the pool over TLS', async () => {
    const c = await WireClient.connect(h.sim.port, '127.0.0.1', { rejectUnauthorized: false });
    h.clients.push(c);
    await c.login();
    const rows = WireClient.rows(await c.call(['/disk/print', '=.proplist=slot,type'], 't'));
    expect(rows).toEqual([{ slot: 'pool', type: 'raid' }]);
  });
});
