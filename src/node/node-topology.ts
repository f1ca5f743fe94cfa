import { backendOfId } from '../domain/backend-id';
import { failedPrecondition } from '../domain/failure';
import { type Segment, topologyKey } from '../domain/topology';
import type { ReachOutcome } from './backend-reach';

/**
 * What NodeGetInfo reports (issue 16, /work/multi-rds-spec.md decision 1) and which volumes NodeStage accepts. The
 * primary P has the segment `{<driver>/backend: P}` (existing PVs' node affinity uses it); another backend B has a
 * key of its own, `{<driver>/backend.B: "true"}`; a node reports the keys of every backend it reaches in ONE map.
 * Without node.backends the node reports the primary's segment only and stages any volume (a single-RDS node).
 */
export interface NodeTopology {
  segments: Segment;
  /** The backends this node reported; undefined = node.backends is not configured (no refusal). */
  reached?: ReadonlySet<string>;
  /** node.backends as configured, for messages. */
  listed: string;
  /** rds.backend: the backend of a bare-slot volume id. */
  primary: string;
}

/** The topology key of an extra (non-primary) backend: `<driver>/backend.<name>`. */
export function extraBackendKey(driverName: string, backend: string): string {
  return `${topologyKey(driverName)}.${backend}`;
}

export function nodeTopology(driverName: string, primary: string, listed: string, outcomes?: readonly ReachOutcome[]): NodeTopology {
  if (!outcomes) return { segments: { [topologyKey(driverName)]: primary }, listed, primary };
  const segments: Segment = {};
  const reached = new Set<string>();
  for (const o of outcomes) {
    if (!o.reached) continue;
    reached.add(o.backend.name);
    if (o.backend.primary) segments[topologyKey(driverName)] = o.backend.name;
    else segments[extraBackendKey(driverName, o.backend.name)] = 'true';
  }
  return { segments, reached, listed, primary };
}

/**
 * NodeStage's check, before anything on the host is touched: a volume on a backend this node did not report is
 * refused (the scheduler should never have sent it here; a hand-made PV or stale labels could).
 */
export function checkReachable(t: NodeTopology, volumeId: string, nodeId: string): void {
  if (!t.reached) return;
  const backend = backendOfId(volumeId, t.primary);
  if (backend !== undefined && !t.reached.has(backend))
    throw failedPrecondition(`volume ${volumeId} is on RDS backend ${backend}, which node ${nodeId} cannot reach (node.backends: ${t.listed})`);
}
