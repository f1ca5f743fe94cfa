import net from 'node:net';
import { Gauge } from 'prom-client';
import { addressOf, type NodeBackendAddress } from '../config/node-backends';
import type { Logger } from '../log/logger';
import type { Metrics } from '../metrics/registry';

/**
 * The start-up reachability check of node.backends (issue 16): a TCP connect to each backend's NVMe/TCP port, all
 * at once, each bounded by node.backendReachMs. A connect that completes is enough: the port answers, so this node
 * has a route to that RDS's target; nothing is sent. Unreached backends are logged (name, address, error) and show 0
 * in rds_csi_node_backend_reachable{backend}; NodeGetInfo then leaves their segments out (topology.ts).
 */

export interface ReachOutcome {
  backend: NodeBackendAddress;
  reached: boolean;
  /** Why not (connect error or the timeout); absent when reached or not checked. */
  error?: string;
}

/** Resolves when a TCP connection to host:port is established within timeoutMs; rejects with the reason otherwise. */
export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TCP connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}

function reachableGauge(m: Metrics): Gauge<'backend'> {
  const name = 'rds_csi_node_backend_reachable';
  const existing = m.registry.getSingleMetric(name);
  if (existing) return existing as Gauge<'backend'>;
  return new Gauge({
    name,
    help: "1 when this node reached the backend's NVMe/TCP port at start-up (or node.backendReachMs is 0), else 0",
    labelNames: ['backend'],
    registers: [m.registry],
  });
}

/** Checks every backend in parallel (timeoutMs 0: none, all count as reached); logs and records each outcome. */
export async function reachBackends(
  backends: readonly NodeBackendAddress[],
  timeoutMs: number,
  log: Logger,
  metrics: Metrics,
): Promise<ReachOutcome[]> {
  const gauge = reachableGauge(metrics);
  const outcomes = await Promise.all(
    backends.map(async (backend): Promise<ReachOutcome> => {
      if (timeoutMs === 0) return { backend, reached: true };
      try {
        await tcpConnect(backend.host, backend.port, timeoutMs);
        return { backend, reached: true };
      } catch (err) {
        return { backend, reached: false, error: (err as Error).message };
      }
    }),
  );
  for (const o of outcomes) {
    gauge.set({ backend: o.backend.name }, o.reached ? 1 : 0);
    const address = addressOf(o.backend);
    if (o.reached) log.info({ backend: o.backend.name, address, checked: timeoutMs > 0 }, 'RDS backend reachable from this node');
    else
      log.warn(
        { backend: o.backend.name, address, err: o.error },
        `RDS backend ${o.backend.name} at ${address} is not reachable from this node: ${o.error ?? ''}; its volumes are not scheduled here`,
      );
  }
  return outcomes;
}
