import { exhausted } from '../domain/failure';
import { placeSegment, type BackendTopology } from '../domain/topology';
import type { TopologyRequirement__Output } from '../generated/csi/v1/TopologyRequirement';

/**
 * CreateVolume's accessibility_requirements against the one segment this RDS's volumes are accessible from. CSI
 * (TopologyRequirement): the volume MUST be accessible from at least one requisite topology, else the SP MUST fail
 * the call; with preferred only, the SP MAY choose any topology, and ours is the only one there is. The failure is
 * the spec's CreateVolume row "Unable to provision in accessible_topology": RESOURCE_EXHAUSTED.
 * external-provisioner builds requisite from the topology keys in CSINode and the Node labels (pkg/controller
 * topology.go, GenerateAccessibilityRequirements), i.e. from the segment NodeGetInfo reported.
 */
export function checkAccessibility(req: TopologyRequirement__Output | null | undefined, t: BackendTopology): void {
  const requisite = req?.requisite ?? [];
  if (requisite.length === 0) return;
  if (requisite.some((topo) => placeSegment(topo.segments, t) !== 'foreign')) return;
  const asked = requisite.map((topo) => JSON.stringify(topo.segments ?? {})).join(', ');
  throw exhausted(
    `accessibility_requirements.requisite (${asked.slice(0, 512)}) does not include this driver's segment {"${t.key}":"${t.value}"}: ` +
      'its volumes are only accessible from nodes of that RDS backend',
  );
}
