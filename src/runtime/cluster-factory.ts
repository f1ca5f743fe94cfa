/**
 * The cluster side from config: Kubernetes (in a pod, or with a kubeconfig) or standalone (configured nodes,
 * events as logs, no VolumeAttachments).
 */
import type { Config } from '../config/schema';
import { KubeEvents, KubeNodes, KubeVolumeAttachments, connectKube } from '../cluster/kube-cluster';
import type { AttachmentSource, EventSink, NodeHealthSource, NodeRegistry } from '../cluster/ports';
import { LogEvents, NoAttachments, StaticNodes } from '../cluster/static-cluster';
import type { Logger } from '../log/logger';
import { kubeClusterId, staticClusterId } from '../cluster/cluster-id';

export interface Cluster {
  mode: 'kubernetes' | 'standalone';
  nodes: NodeRegistry & NodeHealthSource;
  events: EventSink;
  attachments: AttachmentSource;
  /** Written into every disk's ownership comment (cluster/cluster-id.ts). */
  clusterId: string;
}

export function usesKubernetes(cfg: Config): boolean {
  if (cfg.kubernetes.mode === 'on') return true;
  if (cfg.kubernetes.mode === 'off') return false;
  return Boolean(cfg.kubernetes.kubeconfig || process.env.KUBERNETES_SERVICE_HOST);
}

export async function clusterFromConfig(cfg: Config, log: Logger): Promise<Cluster> {
  if (!usesKubernetes(cfg)) {
    return {
      mode: 'standalone',
      nodes: new StaticNodes(cfg.nodes),
      events: new LogEvents(log),
      attachments: new NoAttachments(),
      clusterId: staticClusterId(cfg.clusterId),
    };
  }
  const api = await connectKube(cfg.kubernetes.kubeconfig);
  return {
    mode: 'kubernetes',
    nodes: new KubeNodes(api),
    events: new KubeEvents(api, cfg.driverName, log),
    attachments: new KubeVolumeAttachments(api, cfg.driverName),
    clusterId: await kubeClusterId(api, cfg.clusterId),
  };
}

/** The cluster id alone (operator commands): configured, else derived as clusterFromConfig does. */
export async function clusterIdFromConfig(cfg: Config): Promise<string> {
  if (cfg.clusterId || !usesKubernetes(cfg)) return staticClusterId(cfg.clusterId);
  return kubeClusterId(await connectKube(cfg.kubernetes.kubeconfig), cfg.clusterId);
}
