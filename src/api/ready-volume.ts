import { notFound } from '../domain/failure';
import { isVolumeId } from '../domain/ids';
import type { VolumeRecord, VolumeStore } from '../state/volume-record';

/**
 * The one look-up of a volume a request names: its record when the id is one of ours and the volume is ready.
 * A volume still being created or deleted does not exist for CSI yet (or any more).
 */
type Lookup = { store: VolumeStore; volumePrefix: string };

export async function findReadyVolume(d: Lookup, id: string): Promise<VolumeRecord | undefined> {
  if (!isVolumeId(id, d.volumePrefix)) return undefined;
  const rec = await d.store.get(id);
  return rec?.state === 'ready' ? rec : undefined;
}

/** As findReadyVolume, NOT_FOUND when there is none. `what` names it in the message ("volume", "source volume"). */
export async function readyVolume(d: Lookup, id: string, what = 'volume'): Promise<VolumeRecord> {
  const rec = await findReadyVolume(d, id);
  if (!rec) throw notFound(`${what} ${id} does not exist`);
  return rec;
}
