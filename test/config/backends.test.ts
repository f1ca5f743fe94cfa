import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backendsOf } from '../../src/config/backends';
import { ConfigError, loadConfig } from '../../src/config/load';
import { backendsFromConfig } from '../../src/rds/backends';
import type { RdsPort } from '../../src/rds/port';

/** The backends list (issue 16 item 1): the single-RDS settings are the primary backend; extra ones by name. */
describe('RDS backends in the config', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rds-csi-backends-'));
  const secret = path.join(dir, 'password');
  writeFileSync(secret, 'b-secret\n');

  it('a single-RDS configuration is one primary backend named by rds.backend', () => {
    const cfg = loadConfig({ 'rds.host': '10.0.0.1', 'rds.password': 'p' }, {});
    expect(backendsOf(cfg)).toEqual([{ name: 'default', primary: true, rds: cfg.rds, zone: undefined, concurrency: undefined }]);
  });

  it('extra backends from the environment (JSON), each with its own settings, password from its file', () => {
    const env = {
      RDS_CSI_RDS_BACKEND: 'rds-a',
      RDS_CSI_BACKENDS: JSON.stringify([{ name: 'rds-b', host: '10.0.0.2', passwordFile: secret, zone: 'z2', concurrency: 4, exportPort: 4421 }]),
    };
    const list = backendsOf(loadConfig({}, env));
    expect(list.map((b) => [b.name, b.primary, b.rds.host, b.rds.backend, b.zone, b.concurrency])).toEqual([
      ['rds-a', true, '127.0.0.1', 'rds-a', undefined, undefined],
      ['rds-b', false, '10.0.0.2', 'rds-b', 'z2', 4],
    ]);
    expect(list[1].rds.password).toBe('b-secret');
    expect(list[1].rds.exportPort).toBe(4421);
    expect(list[1].rds.basePath).toBe('/pool/rds-csi');
  });

  it.each([
    ['the primary name again', [{ name: 'default' }], /backends\[0\]\.name "default" is already used \(by the primary backend/],
    ['a name twice', [{ name: 'b' }, { name: 'b' }], /backends\[1\]\.name "b" is already used \(by an earlier entry/],
    ['a name that is no label value', [{ name: 'rds b' }], /backends.*label value/],
    ['not a list', 'rds-b', /backends/],
  ])('refused: %s', (_what, backends, message) => {
    const env = { RDS_CSI_BACKENDS: typeof backends === 'string' ? backends : JSON.stringify(backends) };
    expect(() => loadConfig({}, env)).toThrow(ConfigError);
    expect(() => loadConfig({}, env)).toThrow(message);
  });

  it('an unreadable passwordFile names the backend and the file', () => {
    const cfg = loadConfig({}, { RDS_CSI_BACKENDS: JSON.stringify([{ name: 'rds-b', passwordFile: path.join(dir, 'missing') }]) });
    expect(() => backendsOf(cfg)).toThrow(/backend rds-b: cannot read passwordFile .*missing/);
  });

  it('the registry finds a backend by name and by volume id; an unknown or malformed mark finds none', () => {
    const cfg = loadConfig({}, { RDS_CSI_BACKENDS: JSON.stringify([{ name: 'rds-b', host: '10.0.0.2', exportAddress: '10.1.0.2' }]) });
    const ports = new Map<string, RdsPort>();
    const backends = backendsFromConfig(cfg, undefined, (c) => {
      const port = { close: () => Promise.resolve() } as unknown as RdsPort;
      ports.set(c.name, port);
      return port;
    });
    expect(backends.names()).toEqual(['default', 'rds-b']);
    expect(backends.forId('pvc-0b6a3c1e-7d2f-4a59-9e1c-2b8d4f6a0c13')?.name).toBe('default');
    expect(backends.forId('vol-x-0123456789ab@rds-b')?.rds).toBe(ports.get('rds-b'));
    expect(backends.get('rds-b')?.target).toEqual({ address: '10.1.0.2', port: 4420 });
    expect(backends.forId('vol-x@rds-c')).toBeUndefined();
    expect(backends.forId('vol-x@')).toBeUndefined();
  });
});
