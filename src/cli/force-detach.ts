/**
 * `rds-csi volumes detach --node NODE [--force]`: the operator's force-detach after a node is lost. Every volume the
 * attachment records show on NODE is unpublished through VolumeOperations.unpublish, i.e. the same fence.detach job
 * (same id, same data) a ControllerUnpublishVolume enqueues, run by the workers under the volume's lease; with
 * storage-side fencing on, that job takes NODE's host NQN off the disk's allowed hosts, so a node that comes back
 * cannot reconnect to the volume.
 *
 * Kubernetes' own path is the non-graceful node shutdown: the out-of-service taint makes the attach/detach
 * controller detach at once (pkg/controller/volume/attachdetach/reconciler, Test_Run_OneVolumeDetachOnOutOfServiceTaintedNode),
 * i.e. delete the VolumeAttachment, which external-attacher turns into ControllerUnpublishVolume
 * (pkg/controller/csi_handler.go: syncDetach → csiDetach, node id from the VA's annotation when the Node is gone).
 * This command is for when that cannot happen (no Kubernetes, a stuck attacher) and refuses while the node is Ready.
 */
import type { AttachmentFact, NodeHealth } from '../cluster/ports';
import type { AttachmentStore } from '../state/attachment-record';

export interface DetachOutcome {
  volumeId: string;
  result: 'detached' | 'failed';
  detail: string;
}

export interface DetachDeps {
  attachments: AttachmentStore;
  /** VolumeOperations.unpublish: the fence.detach job the controller runs, awaited up to waitMs. */
  unpublish(volumeId: string, nodeId: string, waitMs: number): Promise<void>;
  /** This driver's VolumeAttachments (Kubernetes); undefined standalone. */
  volumeAttachments?: () => Promise<AttachmentFact[]>;
}

/** Why a detach of `node` is refused without --force, or undefined when Kubernetes says the node is down. */
export function refusal(node: string, health: NodeHealth): string | undefined {
  if (health.source === 'none')
    return `no Kubernetes to ask whether node ${node} is down (standalone mode): make sure it is powered off or cut off from the RDS, then pass --force`;
  if (!health.exists) return undefined;
  if (health.outOfService) return undefined;
  if (health.ready === 'True')
    return `Kubernetes shows node ${node} Ready: detaching would pull volumes from under running pods. Shut it down (or taint it node.kubernetes.io/out-of-service), or pass --force`;
  return undefined;
}

/** How Kubernetes sees the node, in words, for the command's output. */
export function healthText(node: string, health: NodeHealth): string {
  if (health.source === 'none') return `node ${node}: no Kubernetes (standalone)`;
  if (!health.exists) return `node ${node}: no Node object in Kubernetes`;
  return `node ${node}: Ready=${health.ready}${health.outOfService ? ', tainted node.kubernetes.io/out-of-service' : ''}`;
}

/** Unpublishes every volume the records show on `node`, one after the other; never throws for one volume. */
export async function detachNode(deps: DetachDeps, node: string, waitMs: number): Promise<DetachOutcome[]> {
  const volumes = (await deps.attachments.all()).filter((a) => a.nodes[node]).map((a) => a.volumeId);
  const vas = volumes.length && deps.volumeAttachments ? await deps.volumeAttachments() : [];
  const out: DetachOutcome[] = [];
  for (const volumeId of volumes.sort()) {
    try {
      await deps.unpublish(volumeId, node, waitMs);
      // external-attacher's ReconcileVA (pkg/controller/csi_handler.go) re-publishes a volume whose VolumeAttachment
      // still says attached while ListVolumes no longer shows the node: say so, the operator has to act on it.
      const va = vas.find((v) => v.volumeId === volumeId && v.nodeId === node && v.attached);
      out.push({
        volumeId,
        result: 'detached',
        detail: va
          ? `unpublished; its VolumeAttachment on ${node} still says attached: external-attacher may publish it again until the node is tainted out-of-service or the VolumeAttachment is deleted`
          : 'unpublished',
      });
    } catch (err) {
      out.push({ volumeId, result: 'failed', detail: (err as Error).message });
    }
  }
  return out;
}
