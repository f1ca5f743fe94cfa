/**
 * This cluster's id, written into the ownership comment of every disk (src/domain/ownership.ts, issue 15 item 3), so
 * several clusters can share one RDS. Configured (`clusterId`) wins. Otherwise, with Kubernetes, the UID of the
 * `kube-system` namespace: it exists in every cluster, is set once by the API server when the namespace is created
 * and never changes, and is the conventional cluster identifier (the same choice as e.g. the Kubernetes
 * `kube-system` UID used by kubeadm-based tooling and OpenTelemetry's `k8s.cluster.uid`). Standalone (no
 * Kubernetes): the fixed id `standalone`; give each standalone installation on a shared RDS its own `clusterId`.
 */
import { isClusterId } from '../domain/ownership';
import type { KubeApis } from './kube-cluster';

export const STANDALONE_CLUSTER_ID = 'standalone';

function checked(id: string, source: string): string {
  if (!isClusterId(id)) {
    throw new Error(`cluster id ${JSON.stringify(id)} from ${source} is not a DNS-1123 label (a-z, 0-9, '-', at most 63 characters)`);
  }
  return id;
}

/** Standalone: the configured id or `standalone`. */
export function staticClusterId(configured: string | undefined): string {
  return checked(configured ?? STANDALONE_CLUSTER_ID, configured ? 'clusterId' : 'the standalone default');
}

/** Kubernetes: the configured id, or the UID of the kube-system namespace (needs `get` on namespaces). */
export async function kubeClusterId(api: Pick<KubeApis, 'core'>, configured: string | undefined): Promise<string> {
  if (configured) return checked(configured, 'clusterId');
  let uid: string | undefined;
  try {
    uid = (await api.core.readNamespace({ name: 'kube-system' })).metadata?.uid;
  } catch (err) {
    // The client's error message spans the whole HTTP reply; its status code says enough.
    const code = (err as { code?: unknown }).code;
    const why = typeof code === 'number' ? `HTTP ${code}` : String((err as Error).message).split('\n')[0];
    throw new Error(`cannot read the kube-system namespace to derive the cluster id (${why}); grant get on namespaces or set clusterId`, {
      cause: err,
    });
  }
  if (!uid) throw new Error('the kube-system namespace has no UID; set clusterId');
  return checked(uid.toLowerCase(), 'the kube-system namespace UID');
}
