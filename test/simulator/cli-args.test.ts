import { parseCliArgs } from '../../src/simulator/cli-args';

describe('simulator CLI arguments', () => {
  it('parses a full command line', () => {
    const o = parseCliArgs(['--data-dir', '/tmp/x', '--port', '0', '--pool-size', '10G', '--empty-mode', 'legacy', '--latency-ms', '5', '--quiet']);
    expect(o).toMatchObject({
      dataDir: '/tmp/x',
      port: 0,
      poolName: 'pool',
      poolSizeBytes: 10 * 1024 ** 3,
      faults: { emptyMode: 'legacy', latencyMs: 5, jitterMs: 0 },
      user: 'admin',
      password: '',
    });
    expect(o.logger).toBeUndefined();
    expect(o.faults?.copyBytesPerSecond).toBeUndefined(); // the simulator's default applies
  });

  it('takes --copy-bytes-per-second with a size suffix, 0 = unthrottled', () => {
    expect(parseCliArgs(['--data-dir', 'd', '--copy-bytes-per-second', '16M']).faults?.copyBytesPerSecond).toBe(16 * 1024 ** 2);
    expect(parseCliArgs(['--data-dir', 'd', '--copy-bytes-per-second', '0']).faults?.copyBytesPerSecond).toBe(0);
  });

  it('takes --nvmet with the listen address (default --host) and an optional port', () => {
    expect(parseCliArgs(['--data-dir', 'd']).nvmet).toBeUndefined();
    expect(parseCliArgs(['--data-dir', 'd', '--nvmet']).nvmet).toEqual({ address: '127.0.0.1', port: undefined });
    expect(parseCliArgs(['--data-dir', 'd', '--host', '10.0.0.9', '--nvmet']).nvmet).toEqual({ address: '10.0.0.9', port: undefined });
    expect(parseCliArgs(['--data-dir', 'd', '--nvmet', '--nvmet-address', '10.1.2.3', '--nvmet-port', '4421']).nvmet).toEqual({
      address: '10.1.2.3',
      port: 4421,
    });
  });

  it.each([
    [['--data-dir', 'd', '--nvmet-address', '10.0.0.1'], /need --nvmet/],
    [['--data-dir', 'd', '--nvmet', '--nvmet-address', 'storage.local'], /IPv4/],
    [['--data-dir', 'd', '--nvmet', '--nvmet-port', '70000'], /nvmet-port/],
    [[], /data-dir/],
    [['--data-dir', 'd', '--empty-mode', '7.1'], /empty-mode/],
    [['--data-dir', 'd', '--port', 'x'], /port/],
    [['--data-dir', 'd', '--tls-cert', 'c'], /together/],
    [['--data-dir', 'd', '--bogus'], /bogus/],
    [['--data-dir', 'd', '--copy-bytes-per-second', 'fast'], /copy-bytes-per-second/],
    [['--data-dir', 'd', '--copy-bytes-per-second', 'auto'], /copy-bytes-per-second/],
  ])('rejects %j', (argv, re) => {
    expect(() => parseCliArgs(argv)).toThrow(re);
  });
});
