import { ConfigError, configEnvNames, loadConfig } from '../../src/config/load';

describe('loadConfig', () => {
  it('has working defaults', () => {
    const cfg = loadConfig({}, {});
    expect(cfg.driverName).toBe('rds.csi.mikrotik.com');
    expect(cfg.rds.port).toBe(8728);
    expect(cfg.worker.concurrency).toBe(16);
  });

  it('reads RDS_CSI_* environment variables by key path, flags win', () => {
    const env = { RDS_CSI_RDS_PASSWORD: 's3cret', RDS_CSI_WORKER_CONCURRENCY: '4', RDS_CSI_REDIS_URL: 'redis://r:1', RDS_CSI_RDS_HOST: 'a' };
    const cfg = loadConfig({ 'rds.host': 'b' }, env);
    expect(cfg.rds.password).toBe('s3cret');
    expect(cfg.worker.concurrency).toBe(4);
    expect(cfg.redisUrl).toBe('redis://r:1');
    expect(cfg.rds.host).toBe('b');
    expect(configEnvNames()).toContain('RDS_CSI_VOLUMES_MAX_BYTES');
  });

  it.each([
    ['false', false],
    ['0', false],
    ['true', true],
    ['yes', true],
  ])('reads RDS_CSI_RDS_TLS=%s as %s', (value, expected) => {
    expect(loadConfig({}, { RDS_CSI_RDS_TLS: value }).rds.tls).toBe(expected);
  });

  it.each([
    [{ 'rds.tls': 'maybe' }, /rds\.tls/],
    [{ 'rds.port': '70000' }, /rds\.port/],
    [{ redisUrl: 'not a url' }, /redisUrl/],
    [{ 'rds.basePath': 'relative/path' }, /rds\.basePath/],
    [{ 'volumes.minBytes': 10, 'volumes.maxBytes': 5 }, /minBytes/],
    [{ driverName: 'Bad_Name' }, /driverName/],
  ])('rejects %p with a message naming the key', (over, msg) => {
    expect(() => loadConfig(over, {})).toThrow(ConfigError);
    expect(() => loadConfig(over, {})).toThrow(msg);
  });
});
