import { Counter, Histogram } from 'prom-client';
import type { ToolRunner } from '../host/run';
import type { Metrics } from '../metrics/registry';

/**
 * The node's own metrics on the process registry: how long host tools take (the plugin's time is the RPC time
 * minus these) and how many orphan connections were disconnected. Registered once per registry, so a restarted
 * node in the same process (tests, all-in-one) reuses them.
 */

function histogram(m: Metrics): Histogram<'tool' | 'outcome'> {
  const name = 'rds_csi_node_tool_duration_seconds';
  const existing = m.registry.getSingleMetric(name);
  if (existing) return existing as Histogram<'tool' | 'outcome'>;
  return new Histogram({
    name,
    help: 'Host tool run time on the node by tool and outcome (ok, failed, timeout)',
    labelNames: ['tool', 'outcome'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [m.registry],
  });
}

export function orphanCounter(m: Metrics): Counter {
  const name = 'rds_csi_node_orphans_disconnected_total';
  const existing = m.registry.getSingleMetric(name);
  if (existing) return existing as Counter;
  return new Counter({ name, help: 'Connections under the managed NQN prefix disconnected as orphans', registers: [m.registry] });
}

/** A runner that times every tool into rds_csi_node_tool_duration_seconds. */
export function timedRunner(inner: ToolRunner, m: Metrics): ToolRunner {
  const h = histogram(m);
  return async (command, args, opts) => {
    const tool = command.split('/').pop() ?? command;
    const end = h.startTimer({ tool });
    try {
      const r = await inner(command, args, opts);
      // `blkid -p` exits 2 when it finds nothing: the expected answer on a blank device, not a failure.
      const ok = r.code === 0 || (tool === 'blkid' && r.code === 2);
      end({ outcome: r.timedOut ? 'timeout' : ok ? 'ok' : 'failed' });
      return r;
    } catch (err) {
      end({ outcome: 'failed' });
      throw err;
    }
  };
}
