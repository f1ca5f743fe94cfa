import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log/logger';
import { Metrics } from '../../src/metrics/registry';
import { reachBackends } from '../../src/node/backend-reach';
import { nodeBackendsOf } from '../../src/config/node-backends';
import { startNode } from '../../src/runtime/node-app';
import { describeRoot, startNodeEnv, testConfig } from './support';
import { answeringPort, type Endpoint, hangingPort, refusingPort } from './tcp-fixtures';

/**
 * Issue 16, the node side: node.backends lists the NVMe/TCP address of each RDS backend this node may use; at
 * start-up each port is tried (TCP connect, in parallel, bounded by node.backendReachMs) and NodeGetInfo reports the
 * reached backends' segments in one map: the primary `<driver>/backend: <name>`, any other B `<driver>/backend.B:
 * "true"`. Real listeners on loopback answer, refuse or never answer (tcp-fixtures.ts); NodeGetInfo is asked over
 * the plugin's real gRPC socket.
 */

const DRIVER = 'rds.csi.mikrotik.com';
const PRIMARY_KEY = `${DRIVER}/backend`;
const extraKey = (b: string): string => `${DRIVER}/backend.${b}`;

interface LogLine {
  level: number;
  msg: string;
  backend?: string;
  address?: string;
  err?: string;
}

function capturingLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  return { log: createLogger('info', 'node-backends-test', sink), lines };
}

async function reachableGauge(m: Metrics): Promise<Record<string, number>> {
  const g = m.registry.getSingleMetric('rds_csi_node_backend_reachable');
  if (!g) return {};
  return Object.fromEntries((await g.get()).values.map((v) => [String(v.labels.backend), v.value]));
}

let up1: Endpoint;
let up2: Endpoint;
let hang: Endpoint;
let refused: number;

beforeAll(async () => {
  [up1, up2, hang, refused] = await Promise.all([answeringPort(), answeringPort(), hangingPort(), refusingPort()]);
});
afterAll(async () => {
  await Promise.all([up1?.close(), up2?.close(), hang?.close()]);
});

describe('the reachability check itself', () => {
  it('checks every backend at once: three that never answer take one backendReachMs, not three', async () => {
    const list = nodeBackendsOf(
      `default=127.0.0.1:${hang.port},b1=127.0.0.1:${hang.port},b2=127.0.0.1:${hang.port},up=127.0.0.1:${up1.port}`,
      'default',
    );
    const t0 = Date.now();
    const out = await reachBackends(list, 600, createLogger('silent'), new Metrics('reach-test'));
    const took = Date.now() - t0;
    expect(out.map((o) => [o.backend.name, o.reached])).toEqual([
      ['default', false],
      ['b1', false],
      ['b2', false],
      ['up', true],
    ]);
    expect(out[0].error).toBe('no TCP connection within 600 ms');
    expect(took).toBeGreaterThanOrEqual(590);
    expect(took).toBeLessThan(1500); // one after the other would be >= 1800
  });
});

describeRoot('node.backends: NodeGetInfo over the real gRPC socket', () => {
  type Case = [string, () => string, number, Record<string, string>, Record<string, number>, string[]];
  const CASES: Case[] = [
    ['no node.backends: the primary segment only, no check (as before)', () => '', 1500, { [PRIMARY_KEY]: 'default' }, {}, []],
    [
      'primary and rack-b answer, rack-c refuses, rack-d never answers: the two reached, in one map',
      () => `default=127.0.0.1:${up1.port}, rack-b=127.0.0.1:${up2.port},rack-c=127.0.0.1:${refused},rack-d=127.0.0.1:${hang.port}`,
      700,
      { [PRIMARY_KEY]: 'default', [extraKey('rack-b')]: 'true' },
      { default: 1, 'rack-b': 1, 'rack-c': 0, 'rack-d': 0 },
      ['rack-c', 'rack-d'],
    ],
    [
      'the primary unreached: only the extra backend',
      () => `default=127.0.0.1:${refused},rack-b=127.0.0.1:${up1.port}`,
      700,
      { [extraKey('rack-b')]: 'true' },
      { default: 0, 'rack-b': 1 },
      ['default'],
    ],
    ['the primary not listed: only what is listed', () => `rack-b=127.0.0.1:${up2.port}`, 700, { [extraKey('rack-b')]: 'true' }, { 'rack-b': 1 }, []],
    [
      'backendReachMs 0: no check, every listed backend is reported',
      () => `default=127.0.0.1:${refused},rack-b=127.0.0.1:${hang.port}`,
      0,
      { [PRIMARY_KEY]: 'default', [extraKey('rack-b')]: 'true' },
      { default: 1, 'rack-b': 1 },
      [],
    ],
  ];

  it.each(CASES)('%s', async (_name, backends, backendReachMs, segments, gauge, warned) => {
    const { log, lines } = capturingLogger();
    const t0 = Date.now();
    const env = await startNodeEnv({ backends: backends(), backendReachMs }, undefined, log);
    try {
      expect(Date.now() - t0).toBeLessThan(backendReachMs + 2000); // bounded by backendReachMs
      const info = await env.client.nodeCall('NodeGetInfo');
      expect(info.nodeId).toBe('node-a');
      expect(info.accessibleTopology.segments).toEqual(segments);
      expect(await reachableGauge(env.app.metrics)).toEqual(gauge);
      const warnings = lines.filter((l) => l.level === 40 && l.backend !== undefined);
      expect(warnings.map((w) => w.backend).sort()).toEqual(warned);
      for (const w of warnings) {
        expect(w.address).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(w.err).toMatch(w.address === `127.0.0.1:${refused}` ? /ECONNREFUSED/ : /no TCP connection within \d+ ms/);
        expect(w.msg).toContain(`RDS backend ${w.backend} at ${w.address} is not reachable from this node`);
      }
    } finally {
      await env.stop();
    }
  });

  it('a bad node.backends is a config error naming the key before anything starts', async () => {
    const node = { nodeId: 'node-a', connector: 'loop' as const, loopDataDir: '/nonexistent', backends: 'default=127.0.0.1:0' };
    await expect(startNode(testConfig(), { endpoint: 'unix:///nonexistent/csi.sock', node }, createLogger('silent'))).rejects.toThrow(
      'invalid configuration: node.backends (--backends, RDS_CSI_NODE_BACKENDS): backend default: port "0" is not 1-65535',
    );
  });
});
