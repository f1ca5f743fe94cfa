/**
 * The topology segment of an RDS: `{ "<driver name>/backend": "<backend name>" }`. Every node that runs the node
 * plugin reaches the RDS it is configured for, so the node reports this segment in NodeGetInfo (the kubelet puts it
 * on the Node's labels and its key into CSINode.spec.drivers[].topologyKeys), every volume is accessible from it
 * (CreateVolume's accessible_topology), and GetCapacity answers per segment. Every further RDS (issue 16) has a key
 * of its own, `<driver name>/backend.<name>` = "true" (backendTopology), so one node can report several.
 *
 * Why it must exist at all: external-provisioner's capacity controller (pkg/capacity/capacity.go, onCAddOrUpdate)
 * keeps a CSIStorageCapacity only when `reflect.DeepEqual(segment.GetLabelSelector(), capacity.NodeTopology)`. A
 * driver without topology keys gives the empty segment, whose selector `{matchLabels: {}}` comes back from the API
 * server as `{}` (matchLabels nil): never equal, so every object was deleted as obsolete on the next poll.
 */

export type Segment = Record<string, string>;

export interface BackendTopology {
  key: string;
  value: string;
}

/** The key: under the driver name's domain, so it cannot collide with another driver's labels. */
export function topologyKey(driverName: string): string {
  return `${driverName}/backend`;
}

/**
 * The segment of one backend (issue 16, /work/multi-rds-spec.md decision 1): the primary keeps
 * `{ "<driver>/backend": "<name>" }` (existing PVs' node affinity names it); any other backend B has a key of its own,
 * `{ "<driver>/backend.<B>": "true" }`, so a node reaching several backends reports all their keys in one map.
 */
export function backendTopology(driverName: string, backend: string, primary = true): BackendTopology {
  return primary ? { key: topologyKey(driverName), value: backend } : { key: `${topologyKey(driverName)}.${backend}`, value: 'true' };
}

export function segmentOf(t: BackendTopology): Segment {
  return { [t.key]: t.value };
}

/**
 * Where a segment from a request lies relative to this backend: `any` when it names no domain at all (the CO asks
 * about the whole cluster), `ours` when it carries our key with our value (other keys only narrow the set of
 * nodes further, and our volumes are reachable from every node of the backend), `foreign` otherwise (another
 * backend, or keys we do not know: we cannot promise those nodes reach this RDS).
 */
export function placeSegment(segment: Segment | null | undefined, t: BackendTopology): 'any' | 'ours' | 'foreign' {
  if (!segment || Object.keys(segment).length === 0) return 'any';
  return segment[t.key] === t.value ? 'ours' : 'foreign';
}
