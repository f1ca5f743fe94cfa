import { notFound } from '../domain/failure';
import type { RdsBackends } from '../rds/backends';
import type { VolumeRecord, VolumeStore } from '../state/volume-record';
import { locate, unconfiguredBackend } from './backend-of';

/**
 * The one look-up of a volume a request names: its record when the id is one of ours and the volume is ready.
 * A volume still being created or deleted does not exist for CSI yet (or any more). An id on a backend this
 * configuration does not have is FAILED_PRECONDITION, never "does not exist" (src/api/backend-of.ts).
 */
type Lookup = { store: VolumeStore; volumePrefix: string; backends: RdsBackends };

export async function findReadyVolume(d: Lookup, id: string, what = 'volume'): Promise<VolumeRecord | undefined> {
  const at = locate(d.backends, id, 'volume', d.volumePrefix);
  if (at.kind === 'unconfigured') throw unconfiguredBackend(what, id, at.name, d.backends);
  if (at.kind === 'not-ours') return undefined;
  const rec = await d.store.get(id);
  return rec?.state === 'ready' ? rec : undefined;
}

/** As findReadyVolume, NOT_FOUND when there is none. `what` names it in the message ("volume", "source volume"). */
export async function readyVolume(d: Lookup, id: string, what = 'volume'): Promise<VolumeRecord> {
  const rec = await findReadyVolume(d, id, what);
  if (!rec) throw notFound(`${what} ${id} does not exist`);
  return rec;
}
