import { parseCliArgs } from '../../src/simulator/cli-args';

describe('simulator CLI arguments', () => {
  it('parses a full command line', () => {
    const o = parseCliArgs(['--data-dir', '/tmp/x', '--port', '0', '--pool-size', '10G', '--empty-mode', 'legacy', '--latency-ms', '5', '--quiet']);
    expect(o).toMatchObject({ dataDir: '/tmp/x', port: 0, poolName: 'pool', poolSizeBytes: 10 * 1024 ** 3, faults: { emptyMode: 'legacy', latencyMs: 5, jitterMs: 0 }, user: 'admin', password: '' });
    expect(o.logger).toBeUndefined();
  });

  it.each([
    [[], /data-dir/],
    [['--data-dir', 'd', '--empty-mode', '7.1'], /empty-mode/],
    [['--data-dir', 'd', '--port', 'x'], /port/],
    [['--data-dir', 'd', '--tls-cert', 'c'], /together/],
    [['--data-dir', 'd', '--bogus'], /bogus/],
  ])('rejects %j', (argv, re) => {
    expect(() => parseCliArgs(argv)).toThrow(re);
  });
});
