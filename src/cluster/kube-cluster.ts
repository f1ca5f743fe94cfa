/**
 * The cluster through @kubernetes/client-node: Node objects, Events on PVCs, VolumeAttachments of this driver.
 * The package is ESM-only; it is loaded on first use (Node 20.19+ can require it), so standalone processes and
 * unit tests never load it.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../log/logger';
import {
  OUT_OF_SERVICE_TAINT,
  type AttachmentFact,
  type AttachmentSource,
  type EventSink,
  type EventType,
  type NodeHealth,
  type NodeHealthSource,
  type NodeRegistry,
  type PvcRef,
} from './ports';

export interface KubeApis {
  core: k8s.CoreV1Api;
  storage: k8s.StorageV1Api;
}

export async function connectKube(kubeconfig?: string): Promise<KubeApis> {
  const k = await import('@kubernetes/client-node');
  const kc = new k.KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault(); // in-cluster service account when running in a pod
  return { core: kc.makeApiClient(k.CoreV1Api), storage: kc.makeApiClient(k.StorageV1Api) };
}

function httpCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

export class KubeNodes implements NodeRegistry, NodeHealthSource {
  constructor(private readonly api: KubeApis) {}

  /** The Node's Ready condition (absent = Unknown, as the node lifecycle controller treats it) and its taints. */
  async health(nodeId: string): Promise<NodeHealth> {
    let node: k8s.V1Node;
    try {
      node = await this.api.core.readNode({ name: nodeId });
    } catch (err) {
      if (httpCode(err) === 404) return { source: 'kubernetes', exists: false };
      throw err;
    }
    const status = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    const ready = status === 'True' || status === 'False' ? status : 'Unknown';
    const outOfService = (node.spec?.taints ?? []).some((t) => t.key === OUT_OF_SERVICE_TAINT);
    return { source: 'kubernetes', exists: true, ready, outOfService };
  }

  async exists(nodeId: string): Promise<boolean> {
    try {
      await this.api.core.readNode({ name: nodeId });
      return true;
    } catch (err) {
      if (httpCode(err) === 404) return false;
      throw err;
    }
  }

  async list(): Promise<string[]> {
    const res = await this.api.core.listNode();
    return res.items.map((n) => n.metadata?.name ?? '').filter(Boolean);
  }
}

/** Events on the PVC, at most one per PVC and reason per `minIntervalMs` so a retry loop cannot flood the API. */
export class KubeEvents implements EventSink {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly api: KubeApis,
    private readonly component: string,
    private readonly log: Logger,
    private readonly minIntervalMs = 60_000,
  ) {}

  async emit(pvc: PvcRef | undefined, type: EventType, reason: string, message: string): Promise<void> {
    this.log.info({ event: { type, reason, pvc } }, message);
    if (!pvc) return;
    await this.create(
      pvc.namespace,
      { kind: 'PersistentVolumeClaim', apiVersion: 'v1', name: pvc.name, namespace: pvc.namespace },
      type,
      reason,
      message,
    );
  }

  /** Cluster-scoped CSIDriver object: its events live in the `default` namespace. */
  async emitDriver(type: EventType, reason: string, message: string): Promise<void> {
    this.log.info({ event: { type, reason, driver: this.component } }, message);
    await this.create('default', { kind: 'CSIDriver', apiVersion: 'storage.k8s.io/v1', name: this.component }, type, reason, message);
  }

  private async create(
    namespace: string,
    involved: { kind: string; apiVersion: string; name: string; namespace?: string },
    type: EventType,
    reason: string,
    message: string,
  ): Promise<void> {
    const key = `${involved.kind}/${involved.namespace ?? ''}/${involved.name}/${reason}`;
    const now = Date.now();
    if (now - (this.last.get(key) ?? 0) < this.minIntervalMs) return;
    this.last.set(key, now);
    const time = new Date();
    try {
      await this.api.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${involved.name}.`, namespace },
          involvedObject: involved,
          type,
          reason,
          message,
          source: { component: this.component },
          reportingComponent: this.component,
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        },
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message, reason }, 'could not create the Kubernetes event');
    }
  }
}

/** VolumeAttachments of this driver, with the CSI volume handle taken from their PersistentVolumes. */
export class KubeVolumeAttachments implements AttachmentSource {
  constructor(
    private readonly api: KubeApis,
    private readonly driverName: string,
  ) {}

  async list(): Promise<AttachmentFact[]> {
    const [vas, pvs] = await Promise.all([this.api.storage.listVolumeAttachment(), this.api.core.listPersistentVolume()]);
    const handles = new Map<string, { handle: string; readonly: boolean; pvc?: PvcRef }>();
    for (const pv of pvs.items) {
      const csi = pv.spec?.csi;
      const claim = pv.spec?.claimRef;
      const pvc = claim?.name && claim.namespace ? { name: claim.name, namespace: claim.namespace } : undefined;
      if (csi?.driver === this.driverName && pv.metadata?.name)
        handles.set(pv.metadata.name, { handle: csi.volumeHandle, readonly: csi.readOnly ?? false, pvc });
    }
    const facts: AttachmentFact[] = [];
    for (const va of vas.items) {
      if (va.spec.attacher !== this.driverName) continue;
      const pvName = va.spec.source.persistentVolumeName;
      const pv = pvName ? handles.get(pvName) : undefined;
      const inline = va.spec.source.inlineVolumeSpec?.csi;
      const volumeId = pv?.handle ?? inline?.volumeHandle;
      if (!volumeId) continue;
      facts.push({
        volumeId,
        nodeId: va.spec.nodeName,
        attached: va.status?.attached ?? false,
        readonly: pv?.readonly ?? inline?.readOnly ?? false,
        pvc: pv?.pvc,
      });
    }
    return facts;
  }
}
