import { createHash } from 'node:crypto';

/**
 * The node's host NQN: one per node, stable across restarts and reinstalls, and computable by the controller from
 * the node id alone (storage-side fencing needs it). Shape: the NVMe standard UUID form
 * `nqn.2014-08.org.nvmexpress:uuid:<uuid>`, with a name-based (v5-style, SHA-256) UUID of the node id.
 */
export function hostNqnForNode(nodeId: string): string {
  const h = createHash('sha256').update(`rds-csi-node:${nodeId}`, 'utf8').digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  return `nqn.2014-08.org.nvmexpress:uuid:${uuid}`;
}
