import { placedId, splitId } from '../domain/backend-id';
import { failedPrecondition, type Failure } from '../domain/failure';
import { isSnapshotId, isVolumeId } from '../domain/ids';
import { backendTopology, type BackendTopology } from '../domain/topology';
import type { Backend, RdsBackends } from '../rds/backends';

/**
 * Which backend a CSI id of a request names (issue 16; ids: src/domain/backend-id.ts). Three answers:
 * - `ours`: a volume (or snapshot) id of this driver on a configured backend, with its RouterOS slot;
 * - `not-ours`: no id this driver makes (wrong shape, a malformed `@` mark, or the primary's own name spelled out as
 *   `<slot>@<primary>`, which is not the primary's id `<slot>`): such a volume never existed here;
 * - `unconfigured`: a well-formed id on a backend this configuration does not have. The volume may well exist (the
 *   backend was removed from the configuration, or this controller's configuration is behind): never answered as
 *   "does not exist", but FAILED_PRECONDITION (/work/multi-rds-spec.md decision 2).
 */
export type Located = { kind: 'ours'; backend: Backend; slot: string } | { kind: 'not-ours' } | { kind: 'unconfigured'; name: string };

export function locate(backends: RdsBackends, id: string, kind: 'volume' | 'snapshot', prefix: string): Located {
  const p = splitId(id);
  const shaped = kind === 'volume' ? isVolumeId : isSnapshotId;
  if (!p || !shaped(p.slot, prefix) || placedId(p.slot, p.backend, backends.primary.name) !== id) return { kind: 'not-ours' };
  const backend = p.backend === undefined ? backends.primary : backends.get(p.backend);
  return backend ? { kind: 'ours', backend, slot: p.slot } : { kind: 'unconfigured', name: p.backend! };
}

export function unconfiguredBackend(what: string, id: string, name: string, backends: RdsBackends): Failure {
  return failedPrecondition(
    `${what} ${id} is on backend ${name}, which this driver's configuration does not have (configured: ${backends.names().join(', ')})`,
  );
}

/** The backend an id of ours names: throws FAILED_PRECONDITION for an unconfigured one, undefined when not ours. */
export function backendOf(backends: RdsBackends, id: string, kind: 'volume' | 'snapshot', prefix: string, what: string = kind): Backend | undefined {
  const at = locate(backends, id, kind, prefix);
  if (at.kind === 'unconfigured') throw unconfiguredBackend(what, id, at.name, backends);
  return at.kind === 'ours' ? at.backend : undefined;
}

/** The topology segment of a backend's volumes. */
export function topologyOf(driverName: string, b: Pick<Backend, 'name' | 'primary'>): BackendTopology {
  return backendTopology(driverName, b.name, b.primary);
}
