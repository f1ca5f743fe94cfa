import { backendOfId } from '../domain/backend-id';
import { failedPrecondition } from '../domain/failure';
import { type Segment, topologyKey } from '../domain/topology';
import { addressOf, type NodeBackendAddress } from '../config/node-backends';
import type { Logger } from '../log/logger';
import { tcpConnect, type ReachOutcome } from './backend-reach';

/**
 * What NodeGetInfo reports (issue 16, /work/multi-rds-spec.md decision 1) and which volumes NodeStage accepts. The
 * primary P has the segment `{<driver>/backend: P}` (existing PVs' node affinity uses it); another backend B has a
 * key of its own, `{<driver>/backend.B: "true"}`; a node reports the keys of every backend it reaches in ONE map.
 * Without node.backends the node reports the primary's segment only and stages any volume (a single-RDS node).
 */
export interface NodeTopology {
  segments: Segment;
  /**
   * The backends this node reported or has reached since; undefined = node.backends is not configured (no refusal).
   * A listed backend that did not answer at start-up is tried again by NodeStage (checkReachable) and added here.
   */
  reached?: Set<string>;
  /** node.backends parsed (the addresses NodeStage tries again); empty without node.backends. */
  addresses: readonly NodeBackendAddress[];
  /** True when no listed backend answered at start-up and every one was reported anyway (see nodeTopology). */
  unverified?: boolean;
  /** node.backends as configured, for messages. */
  listed: string;
  /** rds.backend: the backend of a bare-slot volume id. */
  primary: string;
}

/** The topology key of an extra (non-primary) backend: `<driver>/backend.<name>`. */
export function extraBackendKey(driverName: string, backend: string): string {
  return `${topologyKey(driverName)}.${backend}`;
}

/**
 * The segments of the backends that answered. When NONE answered, every listed backend is reported instead: an
 * empty map would be the worst answer (the CO reads `{}` as "no constraint": external-provisioner would pass it as
 * a requisite that every backend satisfies), and an RDS or a network that is down while a node starts is far likelier
 * than a node configured with backends it can never reach. NodeStage still checks a backend it has not reached yet.
 */
export function nodeTopology(driverName: string, primary: string, listed: string, outcomes?: readonly ReachOutcome[]): NodeTopology {
  if (!outcomes) return { segments: { [topologyKey(driverName)]: primary }, listed, primary, addresses: [] };
  const unverified = outcomes.length > 0 && outcomes.every((o) => !o.reached);
  const segments: Segment = {};
  const reached = new Set<string>();
  for (const o of outcomes) {
    if (o.reached) reached.add(o.backend.name);
    if (!o.reached && !unverified) continue;
    if (o.backend.primary) segments[topologyKey(driverName)] = o.backend.name;
    else segments[extraBackendKey(driverName, o.backend.name)] = 'true';
  }
  return { segments, reached, listed, primary, addresses: outcomes.map((o) => o.backend), unverified };
}

/**
 * NodeStage's check, before anything on the host is touched: a volume on a backend this node did not report is
 * refused (the scheduler should never have sent it here; a hand-made PV or stale labels could).
 */
export async function checkReachable(t: NodeTopology, volumeId: string, nodeId: string, timeoutMs: number, log: Logger): Promise<void> {
  if (!t.reached) return;
  const backend = backendOfId(volumeId, t.primary);
  if (backend === undefined || t.reached.has(backend)) return;
  // Listed but not reached at start-up (an RDS restarting while the node booted): try its port again now, so one
  // outage at start-up does not refuse its volumes until the plugin restarts.
  const address = t.addresses.find((a) => a.name === backend);
  let why = 'it is not in node.backends';
  if (address) {
    try {
      await tcpConnect(address.host, address.port, timeoutMs || 1500);
      t.reached.add(backend);
      log.info(
        { backend, address: addressOf(address) },
        `RDS backend ${backend} answers now; restart the node plugin so NodeGetInfo reports its segment and the scheduler places its volumes here`,
      );
      return;
    } catch (err) {
      why = `its NVMe/TCP port ${addressOf(address)} does not answer: ${(err as Error).message}`;
    }
  }
  throw failedPrecondition(`volume ${volumeId} is on RDS backend ${backend}, which node ${nodeId} cannot reach (${why}; node.backends: ${t.listed})`);
}
