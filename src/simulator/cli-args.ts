/**
 * Arguments of `rds-csi simulator` (the simulator as its own process, for demos, benchmarks and tests):
 *   rds-csi simulator --data-dir /tmp/rds --port 8728 [--host 127.0.0.1] [--pool pool]
 *     [--pool-size 100G] [--pool-fs btrfs|xfs] [--user admin] [--password ''] [--empty-mode 7.18|legacy]
 *     [--latency-ms 0] [--jitter-ms 0] [--copy-bytes-per-second 512M] [--tls-cert cert.pem --tls-key key.pem] [--quiet]
 *     [--nvmet [--nvmet-address ADDR] [--nvmet-port PORT]]
 * --nvmet exports disks with nvme-tcp-export=yes as kernel NVMe/TCP subsystems (configfs nvmet, root), listening on
 * --nvmet-address (default: --host) and --nvmet-port (default: each disk's nvme-tcp-server-port).
 * Prints one JSON line `{"listening":{"host":…,"port":…}}` on stdout when ready; logs JSON lines on stderr.
 * SIGINT/SIGTERM close it cleanly. Faults are changed at run time with the `/simulator/*` admin commands.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { SimulatorOptions } from './index';
import { parseSize } from './values';

export function parseCliArgs(argv: string[]): SimulatorOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'data-dir': { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8728' },
      pool: { type: 'string', default: 'pool' },
      'pool-size': { type: 'string' },
      'pool-fs': { type: 'string', default: 'btrfs' },
      user: { type: 'string', default: 'admin' },
      password: { type: 'string', default: '' },
      'empty-mode': { type: 'string', default: '7.18' },
      'latency-ms': { type: 'string', default: '0' },
      'jitter-ms': { type: 'string', default: '0' },
      'copy-bytes-per-second': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      nvmet: { type: 'boolean', default: false },
      'nvmet-address': { type: 'string' },
      'nvmet-port': { type: 'string' },
    },
  });
  const dataDir = values['data-dir'];
  if (!dataDir) throw new Error('--data-dir is required');
  const emptyMode = values['empty-mode'];
  if (emptyMode !== '7.18' && emptyMode !== 'legacy') throw new Error('--empty-mode must be 7.18 or legacy');
  const poolFs = values['pool-fs'];
  if (poolFs !== 'btrfs' && poolFs !== 'xfs') throw new Error('--pool-fs must be btrfs or xfs');
  const int = (name: string, text: string): number => {
    if (!/^\d+$/.test(text)) throw new Error(`--${name} must be a non-negative integer`);
    return Number(text);
  };
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) throw new Error('--tls-cert and --tls-key go together');
  const quiet = values.quiet;
  const copyRate = values['copy-bytes-per-second'];
  const faults: SimulatorOptions['faults'] = {
    emptyMode,
    latencyMs: int('latency-ms', values['latency-ms']),
    jitterMs: int('jitter-ms', values['jitter-ms']),
  };
  if (copyRate !== undefined) {
    const n = parseSize(copyRate, 'copy-bytes-per-second');
    if (n === undefined) throw new Error('--copy-bytes-per-second must be bytes with an optional K, M, G or T suffix (0 = unthrottled)');
    faults.copyBytesPerSecond = n;
  }
  if (!values.nvmet && (values['nvmet-address'] !== undefined || values['nvmet-port'] !== undefined))
    throw new Error('--nvmet-address and --nvmet-port need --nvmet');
  let nvmet: SimulatorOptions['nvmet'];
  if (values.nvmet) {
    const address = values['nvmet-address'] ?? values.host;
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) throw new Error(`--nvmet-address must be an IPv4 address (got ${address})`);
    const port = values['nvmet-port'] === undefined ? undefined : int('nvmet-port', values['nvmet-port']);
    if (port !== undefined && (port < 1 || port > 65535)) throw new Error('--nvmet-port must be 1-65535');
    nvmet = { address, port };
  }
  return {
    nvmet,
    dataDir,
    host: values.host,
    port: int('port', values.port),
    poolName: values.pool,
    poolSizeBytes: values['pool-size'] === undefined ? undefined : parseSize(values['pool-size'], 'pool-size'),
    poolFs,
    user: values.user,
    password: values.password,
    faults,
    tls: values['tls-cert'] && values['tls-key'] ? { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) } : undefined,
    logger: quiet ? undefined : (obj, msg) => process.stderr.write(JSON.stringify({ time: new Date().toISOString(), msg, ...obj }) + '\n'),
  };
}
