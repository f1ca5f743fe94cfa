import path from 'node:path';
import { startHarness, type Harness } from '../support/controller-harness';
import { spawnCli, type CliProcess } from '../support/processes';
import { waitFor } from '../support/wait';
import { EXIT_OK } from '../../src/cli/exit-codes';

/**
 * SIGTERM while Redis is unreachable: `rds-csi controller`, `rds-csi worker` and `rds-csi controller --with-worker`
 * (built CLI, as in production) each stop promptly, exit 0 and log why. In Kubernetes the pod gets SIGTERM, then
 * SIGKILL after terminationGracePeriodSeconds: 30 s for the controller (helm/templates/controller-deployment.yaml sets
 * none, so the Kubernetes default) and 60 s for the worker (worker-deployment.yaml). A process that waited for Redis
 * would hold a node drain or a rollout until then. BullMQ's Worker.close() used to wait for ever when Redis was gone
 * (src/queue/close-redis.ts closeWhileRedisAnswers); the controller alone never did, and its rows guard that.
 *
 * Two outages: the redis-server killed (connections refused: the clients wait to reconnect) and SIGSTOPped (the
 * kernel still holds its sockets: commands get no answer and the clients still say "ready").
 */

/** A third of the shortest grace period (30 s): measured 1-2 s; the rest is room for a loaded 2-core CI machine. */
const STOP_BOUND_MS = 10000;

type Kind = 'controller' | 'worker' | 'controller --with-worker';
type Outage = 'killed' | 'SIGSTOPped';

const KINDS: Kind[] = ['controller', 'worker', 'controller --with-worker'];
const OUTAGES: Outage[] = ['killed', 'SIGSTOPped'];
const ROWS = KINDS.flatMap((kind) => OUTAGES.map((outage) => ({ kind, outage })));

interface LogLine {
  msg?: string;
  signal?: string;
}

function logLines(out: string): LogLine[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

function args(kind: Kind, h: Harness): string[] {
  const common = ['--redis-url', h.redis.url, '--rds-address', `${h.sim.host}:${h.sim.port}`, '--log-level', 'info'];
  const endpoint = ['--endpoint', `unix://${path.join(h.dir, 'c.sock')}`];
  if (kind === 'worker') return ['worker', ...common];
  return ['controller', ...endpoint, ...(kind === 'controller' ? [] : ['--with-worker']), ...common];
}

describe('SIGTERM while Redis is unreachable', () => {
  const measured: string[] = [];
  afterAll(() => console.log(`stop times during a Redis outage:\n${measured.join('\n')}`));

  it.each(ROWS)('$kind, redis-server $outage: exits 0 within the bound and logs the signal', async ({ kind, outage }) => {
    const h = await startHarness({ controller: false });
    let proc: CliProcess | undefined;
    try {
      // A short stalled-check interval: the worker has a command on its connection when a SIGSTOP black-holes it.
      proc = await spawnCli(
        args(kind, h),
        { RDS_CSI_RDS_PASSWORD: 'secret', RDS_CSI_WORKER_STALLED_INTERVAL_MS: '200' },
        /(controller|worker) ready/,
      );
      const p = proc;
      if (outage === 'killed') {
        await h.redis.stop();
        await waitFor(() => /ECONNREFUSED/.test(p.output()), 5000, 'the process to see Redis refuse connections');
      } else {
        process.kill(h.redis.pid, 'SIGSTOP');
        // Long enough for the periodic commands (stalled check, events read) to be sent into the black hole.
        await new Promise((r) => setTimeout(r, 300));
      }
      const exited = new Promise<number | null>((r) => p.child.once('exit', (code) => r(code)));
      const started = Date.now();
      p.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([exited, new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), STOP_BOUND_MS)))]);
      clearTimeout(timer);
      const ms = Date.now() - started;
      measured.push(`${kind}, redis-server ${outage}: ${code === 'hung' ? `still running after ${ms}` : ms} ms`);
      const lines = logLines(p.output());
      expect({ code, tail: code === EXIT_OK ? '' : p.output().slice(-2000) }).toEqual({ code: EXIT_OK, tail: '' });
      expect(lines.filter((l) => l.msg === 'shutting down').map((l) => l.signal)).toEqual(['SIGTERM']);
      expect(lines.filter((l) => l.msg === 'shutdown failed')).toEqual([]);
      // Refused connections: the in-process worker's close would have waited for ever; it says it did not.
      const gaveUp = lines.some((l) => l.msg?.startsWith('Redis unreachable while stopping'));
      if (outage === 'killed') expect(gaveUp).toBe(kind !== 'controller');
    } finally {
      await proc?.kill('SIGKILL');
      if (outage === 'SIGSTOPped') process.kill(h.redis.pid, 'SIGCONT');
      await h.stop();
    }
  });
});
