import type { CsiClient } from './csi-client';

/**
 * What external-provisioner's central capacity controller does (`--enable-capacity`), step by step, against an API
 * server over HTTP and the driver over its CSI socket:
 * - segments (pkg/capacity/topology/nodes.go, sync): for every CSINode on which the driver is registered, its
 *   topologyKeys, sorted, each looked up in the Node's labels; a node missing one of the labels is skipped; equal
 *   segments are one segment. No topology keys at all gives the empty segment.
 * - work items (pkg/capacity/capacity.go): segment × StorageClass of this provisioner; classes with Immediate
 *   binding are skipped unless immediateBinding is set.
 * - objects (onCAddOrUpdate): an existing CSIStorageCapacity is kept for the work item whose storageClassName is
 *   equal and whose `segment.GetLabelSelector()` is `reflect.DeepEqual` to the object's nodeTopology; an object no
 *   work item claims "is obsolete, enqueue for removal" and is deleted.
 * - syncCapacity: GetCapacity with the class's parameters and accessible_topology = the segment's labels (before
 *   v5.0.0 also a placeholder capability `{mount, access_mode: UNKNOWN}`); create the object if the item has
 *   none, update it when the capacity changed.
 * GetLabelSelector of a segment is `{matchLabels: map}` with a non-nil map even when the segment is empty; the
 * object read back has no matchLabels when it was empty (nil), and DeepEqual(nil map, empty map) is false.
 */

type Labels = Record<string, string>;
/** A Go LabelSelector: `undefined` stands for a nil map / nil slice. */
interface Selector {
  matchLabels?: Labels;
  matchExpressions?: unknown[];
}
interface Capacity {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion?: string;
    ownerReferences?: Array<{ uid: string; controller?: boolean }>;
  };
  storageClassName: string;
  nodeTopology?: Selector;
  capacity?: string;
  maximumVolumeSize?: string;
}
interface StorageClass {
  metadata: { name: string };
  provisioner: string;
  parameters?: Labels;
  volumeBindingMode?: string;
}
interface CsiNode {
  metadata: { name: string };
  spec: { drivers?: Array<{ name: string; nodeID: string; topologyKeys?: string[] | null }> };
}

export interface PollReport {
  created: string[];
  updated: string[];
  kept: string[];
  obsolete: string[];
}

/** reflect.DeepEqual of two LabelSelectors as Go decodes them (nil ≠ empty). */
function selectorsEqual(a: Selector | undefined, b: Selector | undefined): boolean {
  const mapsEqual = (x?: Labels, y?: Labels): boolean => {
    if (x === undefined || y === undefined) return x === y;
    const kx = Object.keys(x).sort();
    const ky = Object.keys(y).sort();
    return kx.length === ky.length && kx.every((k, i) => k === ky[i] && x[k] === y[k]);
  };
  if (a === undefined || b === undefined) return a === b;
  return mapsEqual(a.matchLabels, b.matchLabels) && JSON.stringify(a.matchExpressions) === JSON.stringify(b.matchExpressions);
}

export class CapacityControllerEmulation {
  constructor(
    private readonly o: {
      apiUrl: string;
      driverName: string;
      namespace: string;
      ownerUid: string;
      csi: CsiClient;
      /** external-provisioner before v5.0.0 sends a placeholder capability with an unset access mode. */
      placeholderCapability?: boolean;
      immediateBinding?: boolean;
    },
  ) {}

  private async api<T>(method: string, path: string, body?: object): Promise<T> {
    const res = await fetch(`${this.o.apiUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  /** topology/nodes.go sync: the segments, as label maps. */
  async segments(): Promise<Labels[]> {
    const csiNodes = (await this.api<{ items: CsiNode[] }>('GET', '/apis/storage.k8s.io/v1/csinodes')).items;
    const out: Labels[] = [];
    for (const csiNode of csiNodes) {
      const driver = csiNode.spec.drivers?.find((d) => d.name === this.o.driverName);
      if (!driver) continue;
      let node: { metadata: { labels?: Labels } };
      try {
        node = await this.api('GET', `/api/v1/nodes/${encodeURIComponent(csiNode.metadata.name)}`);
      } catch {
        continue; // obsolete CSINode
      }
      const segment: Labels = {};
      const keys = [...(driver.topologyKeys ?? [])].sort();
      if (!keys.every((k) => node.metadata.labels?.[k] !== undefined)) continue;
      for (const k of keys) segment[k] = node.metadata.labels![k];
      if (!out.some((s) => selectorsEqual({ matchLabels: s }, { matchLabels: segment }))) out.push(segment);
    }
    return out;
  }

  /** One round: reconcile the existing objects with the work items (onCAddOrUpdate), then syncCapacity each item. */
  async poll(): Promise<PollReport> {
    const report: PollReport = { created: [], updated: [], kept: [], obsolete: [] };
    const segments = await this.segments();
    const classes = (await this.api<{ items: StorageClass[] }>('GET', '/apis/storage.k8s.io/v1/storageclasses')).items.filter(
      (sc) => sc.provisioner === this.o.driverName && (this.o.immediateBinding || sc.volumeBindingMode !== 'Immediate'),
    );
    const items = classes.flatMap((sc) => segments.map((segment) => ({ sc, segment, object: undefined as Capacity | undefined })));
    const base = `/apis/storage.k8s.io/v1/namespaces/${this.o.namespace}/csistoragecapacities`;
    const existing = (await this.api<{ items: Capacity[] }>('GET', base)).items.filter((c) =>
      c.metadata.ownerReferences?.some((r) => r.controller && r.uid === this.o.ownerUid),
    );
    for (const obj of existing) {
      // GetLabelSelector(): matchLabels is always a non-nil map.
      const item = items.find(
        (it) => !it.object && it.sc.metadata.name === obj.storageClassName && selectorsEqual({ matchLabels: it.segment }, obj.nodeTopology),
      );
      if (item) {
        item.object = obj;
        continue;
      }
      report.obsolete.push(obj.metadata.name);
      await this.api('DELETE', `${base}/${obj.metadata.name}`);
    }
    for (const item of items) {
      const req: Record<string, unknown> = { parameters: item.sc.parameters ?? {}, accessibleTopology: { segments: item.segment } };
      if (this.o.placeholderCapability) req.volumeCapabilities = [{ mount: {}, accessMode: { mode: 'UNKNOWN' } }];
      const res = (await this.o.csi.ctl('GetCapacity', req)) as { availableCapacity: string; maximumVolumeSize: { value: string } | null };
      const capacity = res.availableCapacity;
      const maximumVolumeSize = res.maximumVolumeSize?.value;
      if (!item.object) {
        const created = await this.api<Capacity>('POST', base, {
          metadata: {
            generateName: 'csisc-',
            ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'rds-csi-controller', uid: this.o.ownerUid, controller: true }],
          },
          storageClassName: item.sc.metadata.name,
          nodeTopology: { matchLabels: item.segment },
          capacity,
          maximumVolumeSize,
        });
        report.created.push(created.metadata.name);
      } else if (item.object.capacity !== capacity || item.object.maximumVolumeSize !== maximumVolumeSize) {
        await this.api('PUT', `${base}/${item.object.metadata.name}`, { ...item.object, capacity, maximumVolumeSize });
        report.updated.push(item.object.metadata.name);
      } else {
        report.kept.push(item.object.metadata.name);
      }
    }
    return report;
  }
}
