import { placedId } from '../domain/backend-id';
import { exhausted, invalid } from '../domain/failure';
import {
  PLACEMENT_PARAMS,
  accessibleCandidates,
  candidatesOf,
  choose,
  placementParamProblem,
  placementParams,
  type Candidate,
  type PlacementParams,
  type Requirements,
} from '../domain/placement';
import type { TopologyRequirement__Output } from '../generated/csi/v1/TopologyRequirement';
import type { Backend } from '../rds/backends';
import { topologyOf } from './backend-of';
import type { ControllerDeps } from './controller-deps';
import type { ContentSource } from './validate';

/** CreateVolume's and GetCapacity's view of the backends: the pure placement rules (src/domain/placement.ts) on them. */
export interface BackendCandidate extends Candidate {
  backend: Backend;
}

type Deps = Pick<ControllerDeps, 'backends' | 'driverName' | 'store' | 'poolOf'>;

export function allCandidates(d: Pick<Deps, 'backends' | 'driverName'>): BackendCandidate[] {
  return d.backends.list.map((b) => ({ name: b.name, topology: topologyOf(d.driverName, b), zone: b.config.zone, backend: b }));
}

/** The placement parameters among a class's parameters (GetCapacity gets them unchecked), checked for shape. */
export function placementOfParameters(params: Record<string, string>): PlacementParams {
  const placement: Record<string, string> = {};
  for (const key of PLACEMENT_PARAMS) {
    const value = params[key];
    if (value === undefined) continue;
    const problem = placementParamProblem(key, value);
    if (problem) throw invalid(`parameter ${key}="${value.slice(0, 200)}" ${problem}`);
    placement[key] = value;
  }
  return placementParams(placement);
}

/** The candidates the class allows (INVALID_ARGUMENT for a backend name the configuration does not have). */
export function classCandidates(d: Pick<Deps, 'backends' | 'driverName'>, p: PlacementParams): BackendCandidate[] {
  return candidatesOf(p, allCandidates(d));
}

export function requirementsOf(req: TopologyRequirement__Output | null | undefined): Requirements {
  return {
    requisite: (req?.requisite ?? []).map((t) => t.segments ?? {}),
    preferred: (req?.preferred ?? []).map((t) => t.segments ?? {}),
  };
}

/**
 * The backend that already holds a volume of this name (a repeated CreateVolume), whatever placement would choose
 * now: the slot is derived from the name, so a volume of this name can only be `<slot>` or `<slot>@<B>`. One record
 * read per backend; none with a single backend (the claim in VolumeOperations.create finds it). Two concurrent first
 * CreateVolumes of one name that place differently could both claim; the external-provisioner sends one at a time per
 * PVC, and the loser's duplicate is an orphan the orphan reconciler reports.
 */
export async function existingBackend(d: Deps, slot: string, name: string): Promise<Backend | undefined> {
  if (d.backends.list.length === 1) return undefined;
  for (const b of d.backends.list) {
    const rec = await d.store.get(placedId(slot, b.name, d.backends.primary.name));
    if (rec && (rec.name === name || rec.rebuilt)) return b; // being deleted: create answers ABORTED, as with one RDS
  }
  return undefined;
}

/** A clone or restore stays on its source's backend: the candidates narrowed to it, or a clear refusal. */
export function onSourceBackend(
  accessible: BackendCandidate[],
  allowed: BackendCandidate[],
  src: ContentSource,
  source: Backend,
): BackendCandidate[] {
  const what = `source ${src.kind} ${src.id} is on backend ${source.name}; a clone or restore stays on its source's backend`;
  // CSI CreateVolume, "Source incompatible or not supported": INVALID_ARGUMENT, also for "incompatibility between
  // parameters from the source and the ones requested for the new volume" — here the class's backends.
  if (!allowed.some((c) => c.name === source.name)) {
    throw invalid(`${what}, and this StorageClass places volumes on ${allowed.map((c) => c.name).join(', ')}`);
  }
  const ok = accessible.filter((c) => c.name === source.name);
  if (!ok.length) throw exhausted(`${what}, which accessibility_requirements.requisite does not reach`);
  return ok;
}

/**
 * The backend for a new volume. One candidate: it, with no pool reading (the single-RDS create costs what it did).
 * Several: each one's cached pool reading (ControllerDeps.poolOf: one RouterOS call per backend per statusCacheMs,
 * not one per create); a backend whose reading fails counts as unknown free space.
 */
export async function placeVolume(d: Deps, cands: BackendCandidate[], req: Requirements, p: PlacementParams, sizeBytes: number): Promise<Backend> {
  if (cands.length === 1) return cands[0].backend;
  const readings = await Promise.all(
    cands.map((c) =>
      d.poolOf(c.backend).then(
        (pool) => pool.freeBytes,
        () => undefined,
      ),
    ),
  );
  const free = new Map(cands.map((c, i) => [c.name, readings[i]]));
  return choose(cands, req, p.mode, (c) => free.get(c.name), sizeBytes).backend;
}

export { accessibleCandidates };
