/**
 * How a volume record is shown to CSI: the volume_context carries what the node needs to connect (target address,
 * port, NQN) and the volume's access type, so the node never has to guess.
 */
import { segmentOf, type BackendTopology } from '../domain/topology';
import type { Volume } from '../generated/csi/v1/Volume';
import type { VolumeRecord } from '../state/volume-record';

export interface TargetInfo {
  address: string;
  port: number;
}

/** `target` undefined: the volume's backend is not in this configuration (ListVolumes still shows the record). */
export function volumeContext(rec: VolumeRecord, target: TargetInfo | undefined): Record<string, string> {
  return {
    ...rec.context,
    nqn: rec.nqn,
    ...(target ? { targetAddress: target.address, targetPort: String(target.port) } : {}),
    accessType: rec.accessType,
  };
}

/** `topology`: the segment of the volume's RDS backend; the volume is accessible from exactly that segment. */
export function toCsiVolume(rec: VolumeRecord, target: TargetInfo | undefined, topology: BackendTopology): Volume {
  const contentSource = rec.source
    ? rec.source.kind === 'snapshot'
      ? { snapshot: { snapshotId: rec.source.id } }
      : { volume: { volumeId: rec.source.id } }
    : undefined;
  return {
    volumeId: rec.id,
    capacityBytes: String(rec.capacityBytes),
    volumeContext: volumeContext(rec, target),
    contentSource,
    accessibleTopology: [{ segments: segmentOf(topology) }],
  };
}
