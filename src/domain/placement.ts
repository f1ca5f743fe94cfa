import { exhausted, invalid } from './failure';
import { placeSegment, type BackendTopology, type Segment } from './topology';

/**
 * Where CreateVolume puts a new volume when the driver has several RDS backends (issue 16). Pure: the caller hands
 * in the backends, the request's accessibility_requirements and each candidate's free pool space.
 *
 * StorageClass parameters:
 * - `backend: <name>`: that backend only.
 * - `backends: a,b,c`: these candidates, chosen by `placement`:
 *   - `mostFree` (default): the candidate with the most free pool space that can hold the size;
 *   - `zone`: first the candidates whose configured `zone` equals the `topology.kubernetes.io/zone` value of the first
 *     preferred topology that names that key, then as mostFree. No such key (the node plugin reports only backend
 *     keys unless the node is configured to report its zone) = mostFree over all candidates: a preference, never a
 *     reason to fail.
 * - neither: the primary only (the behaviour before there were backends).
 *
 * accessibility_requirements (CSI TopologyRequirement): the volume MUST be accessible from at least one requisite
 * topology, so candidates no requisite segment reaches are dropped (none left: RESOURCE_EXHAUSTED, the spec's
 * CreateVolume row "Unable to provision in accessible_topology"); the SP SHOULD try the preferred topologies in
 * order, so the candidates the first preferred segment reaches are tried first, then those of the next, then all.
 */

export const BACKEND_PARAM = 'backend';
export const BACKENDS_PARAM = 'backends';
export const PLACEMENT_PARAM = 'placement';
export const PLACEMENT_PARAMS = [BACKEND_PARAM, BACKENDS_PARAM, PLACEMENT_PARAM] as const;
export const ZONE_KEY = 'topology.kubernetes.io/zone';

export type PlacementMode = 'mostFree' | 'zone';
const MODES: readonly string[] = ['mostFree', 'zone'];
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export interface PlacementParams {
  /** The candidate backends the class names; undefined = the primary only. */
  names?: string[];
  mode: PlacementMode;
}

export interface Candidate {
  name: string;
  topology: BackendTopology;
  zone?: string;
}

export interface Requirements {
  requisite: Segment[];
  preferred: Segment[];
}

/** The shape of one placement parameter (its names are checked against the configuration by candidatesOf). */
export function placementParamProblem(key: string, value: string): string | undefined {
  if (key === PLACEMENT_PARAM) return MODES.includes(value) ? undefined : `must be one of ${MODES.join(', ')}`;
  const names = key === BACKENDS_PARAM ? splitNames(value) : [value];
  if (!names.length || names.some((n) => !NAME.test(n))) return 'must name RDS backends (comma-separated for backends)';
  return undefined;
}

function splitNames(value: string): string[] {
  return value
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
}

export function placementParams(params: Record<string, string>): PlacementParams {
  const one = params[BACKEND_PARAM];
  const many = params[BACKENDS_PARAM];
  if (one !== undefined && many !== undefined) throw invalid(`give either parameter ${BACKEND_PARAM} or ${BACKENDS_PARAM}, not both`);
  const mode = (params[PLACEMENT_PARAM] ?? 'mostFree') as PlacementMode;
  if (one !== undefined) return { names: [one], mode };
  if (many !== undefined) return { names: [...new Set(splitNames(many))], mode };
  return { mode };
}

/** The class's candidates in its order; the primary (first of `all`) when it names none. */
export function candidatesOf<C extends Candidate>(p: PlacementParams, all: readonly C[]): C[] {
  if (!p.names) return [all[0]];
  const unknown = p.names.filter((n) => !all.some((c) => c.name === n));
  if (unknown.length) {
    throw invalid(
      `StorageClass names RDS backend${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}, which this driver's configuration ` +
        `does not have; configured: ${all.map((c) => c.name).join(', ')}`,
    );
  }
  return p.names.map((n) => all.find((c) => c.name === n)!);
}

/** True when nodes of `segment` reach this backend (an empty segment is the whole cluster). */
export function reaches(segment: Segment | null | undefined, c: Candidate): boolean {
  return placeSegment(segment, c.topology) !== 'foreign';
}

function describe(segments: Segment[]): string {
  return segments
    .map((s) => JSON.stringify(s))
    .join(', ')
    .slice(0, 512);
}

/** The candidates at least one requisite segment reaches (all when there is no requisite); none: RESOURCE_EXHAUSTED. */
export function accessibleCandidates<C extends Candidate>(cands: C[], req: Requirements): C[] {
  if (!req.requisite.length) return cands;
  const ok = cands.filter((c) => req.requisite.some((s) => reaches(s, c)));
  if (ok.length) return ok;
  const keys = cands.map((c) => `{"${c.topology.key}":"${c.topology.value}"}`).join(', ');
  throw exhausted(
    `accessibility_requirements.requisite (${describe(req.requisite)}) reaches none of the RDS backends this volume may go to ` +
      `(${keys}): its volumes are only accessible from nodes of their RDS backend`,
  );
}

/**
 * The backend for a new volume among accessible candidates (see the file comment). `free`: each candidate's free
 * pool bytes from a recent reading, undefined when unknown. When no candidate is known to hold `sizeBytes`, the one
 * with the most free space is still chosen: the worker's own check on RDS then answers RESOURCE_EXHAUSTED.
 */
export function choose<C extends Candidate>(
  cands: C[],
  req: Requirements,
  mode: PlacementMode,
  free: (c: C) => number | undefined,
  sizeBytes: number,
): C {
  const groups: C[][] = [];
  if (mode === 'zone') {
    const zone = req.preferred.find((s) => s[ZONE_KEY] !== undefined)?.[ZONE_KEY];
    if (zone !== undefined) groups.push(cands.filter((c) => c.zone === zone));
  }
  for (const s of req.preferred) groups.push(cands.filter((c) => reaches(s, c)));
  groups.push(cands);
  const most = (g: C[]): C | undefined =>
    g.reduce<C | undefined>((best, c) => (best === undefined || (free(c) ?? -1) > (free(best) ?? -1) ? c : best), undefined);
  for (const g of groups) {
    const pick = most(g.filter((c) => (free(c) ?? -1) >= sizeBytes));
    if (pick) return pick;
  }
  return most(cands)!;
}
