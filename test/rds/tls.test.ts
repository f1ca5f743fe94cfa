/** api-ssl with CA pinning against the simulator's TLS listener (certificates made with the openssl CLI). */
import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startSimulator, type RunningSimulator } from '../../src/simulator';
import { RouterOsRds } from '../../src/rds';

function makeCa(dir: string, name: string): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      join(dir, `${name}.key`),
      '-out',
      join(dir, `${name}.crt`),
    ],
    { stdio: 'ignore' },
  );
}

function makeServerCert(dir: string, ca: string, host: string): void {
  const ext = join(dir, 'ext.cnf');
  writeFileSync(ext, `subjectAltName=DNS:${host}\n`);
  execFileSync(
    'openssl',
    ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${host}`, '-keyout', join(dir, 'server.key'), '-out', join(dir, 'server.csr')],
    { stdio: 'ignore' },
  );
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      join(dir, 'server.csr'),
      '-CA',
      join(dir, `${ca}.crt`),
      '-CAkey',
      join(dir, `${ca}.key`),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      join(dir, 'server.crt'),
    ],
    { stdio: 'ignore' },
  );
}

describe('RouterOsRds over api-ssl', () => {
  let dir: string;
  let sim: RunningSimulator;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rds-tls-'));
    makeCa(dir, 'ca');
    makeCa(dir, 'other-ca');
    makeServerCert(dir, 'ca', 'rds.test');
    sim = await startSimulator({
      host: '127.0.0.1',
      port: 0,
      dataDir: join(dir, 'data'),
      poolName: 'pool',
      user: 'admin',
      password: 'secret',
      tls: { cert: readFileSync(join(dir, 'server.crt')), key: readFileSync(join(dir, 'server.key')) },
    });
  });
  afterAll(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const make = (ca: string): RouterOsRds =>
    new RouterOsRds({
      host: '127.0.0.1',
      port: sim.port,
      user: 'admin',
      password: 'secret',
      poolName: 'pool',
      connectTimeoutMs: 2000,
      callTimeoutMs: 2000,
      tls: { ca: readFileSync(join(dir, `${ca}.crt`)), servername: 'rds.test' },
    });

  it('connects when the server certificate chains to the pinned CA', async () => {
    const rds = make('ca');
    try {
      await rds.ping();
      expect(await rds.getDisk('none')).toBeUndefined();
    } finally {
      await rds.close();
    }
  });

  it('refuses a server whose certificate does not chain to the pinned CA', async () => {
    const rds = make('other-ca');
    try {
      const err = await rds.ping().catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'precondition' });
      expect((err as Error).message).toMatch(/TLS connection to RDS refused.*(SELF_SIGNED|UNABLE_TO_VERIFY).*pinned CA/);
    } finally {
      await rds.close();
    }
  });
});
