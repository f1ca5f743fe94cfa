/**
 * What the driver needs from the cluster, behind small interfaces: with Kubernetes (kube-*.ts, through
 * @kubernetes/client-node) or standalone (static-*.ts, for the all-in-one mode and tests without a cluster).
 */
export interface NodeRegistry {
  /** Whether the node exists (a Node object, or a configured/registered node in standalone mode). */
  exists(nodeId: string): Promise<boolean>;
  /** Every known node id (for the reconciler); undefined when the registry cannot list. */
  list(): Promise<string[] | undefined>;
}

/**
 * What Kubernetes says about a node, for an operator's force-detach (`rds-csi volumes detach`): the Ready condition
 * and the non-graceful shutdown taint `node.kubernetes.io/out-of-service`
 * (kubernetes.io/docs/concepts/cluster-administration/node-shutdown/#non-graceful-node-shutdown).
 * `source: 'none'`: standalone mode, nothing to ask.
 */
export type NodeHealth =
  | { source: 'kubernetes'; exists: false }
  | { source: 'kubernetes'; exists: true; ready: 'True' | 'False' | 'Unknown'; outOfService: boolean }
  | { source: 'none' };

export interface NodeHealthSource {
  health(nodeId: string): Promise<NodeHealth>;
}

export const OUT_OF_SERVICE_TAINT = 'node.kubernetes.io/out-of-service';

export interface PvcRef {
  name: string;
  namespace: string;
}

export type EventType = 'Normal' | 'Warning';

/** Kubernetes Events on the PVC (standalone: a log line). Never throws: an event is not worth failing a job. */
export interface EventSink {
  emit(pvc: PvcRef | undefined, type: EventType, reason: string, message: string): Promise<void>;
  /** An event about the driver as a whole (e.g. orphans found), on its CSIDriver object. */
  emitDriver(type: EventType, reason: string, message: string): Promise<void>;
}

/** A VolumeAttachment of this driver, reduced to what the reconciler needs. */
export interface AttachmentFact {
  volumeId: string;
  nodeId: string;
  attached: boolean;
  readonly: boolean;
  /** From the PersistentVolume's claimRef, for events. */
  pvc?: PvcRef;
}

export interface AttachmentSource {
  list(): Promise<AttachmentFact[]>;
}
