import { splitId } from '../../domain/backend-id';
import type { Processor } from '../context';
import type { AttachmentFact } from '../../cluster/ports';
import type { AttachmentRecord } from '../../state/attachment-record';

/**
 * reconcile.attachments (at start-up and on a schedule): when Redis has no attachment records, rebuild them from
 * this driver's VolumeAttachments; then clear attachments of nodes that no longer exist (through fence.detach, so
 * each volume's lease is honoured) — but only once no VolumeAttachment of this driver ties that node to that volume.
 *
 * Why wait for the VolumeAttachment (issue 11 item 9): after a Node object is deleted, Kubernetes keeps its
 * VolumeAttachments `attached: true` until pod GC and the attach-detach controller detach (~60 s seen,
 * docs/ARCHITECTURE.md#sidecars item 3). external-attacher (pkg/controller/csi_handler.go) then still detaches:
 * `csiDetach` takes the node id from the CSINode or, when that is gone with the Node, from the VA's node-id
 * annotation (`getNodeID(..., va)`), and calls ControllerUnpublishVolume with it; and its `ReconcileVA` compares each
 * VA's `status.attached` with the nodes ListVolumes reports as published, force-resyncing a VA whose volume is not
 * published there ("has attached status true but actual state false") with a new ControllerPublishVolume. Clearing
 * early therefore fights the attacher and would let an RWO volume attach elsewhere while the old node may still
 * write. So the attachment stays until ControllerUnpublishVolume arrives (fence.detach) or no VA of this driver for
 * that node and volume remains, attached or not (a VA being detached still holds it).
 */
export const reconcileAttachments: Processor<'reconcile.attachments'> = async (_data, ctx) => {
  const f = ctx.fencing;
  let rebuilt = 0;
  let facts: AttachmentFact[] | undefined;
  const vaFacts = async (): Promise<AttachmentFact[]> => (facts ??= await f.vaSource.list());
  if ((await f.attachments.count()) === 0) {
    const byVolume = new Map<string, AttachmentRecord>();
    for (const fact of await vaFacts()) {
      if (!fact.attached) continue;
      const rec = byVolume.get(fact.volumeId) ?? { volumeId: fact.volumeId, nodes: {}, pvc: fact.pvc };
      rec.nodes[fact.nodeId] = { readonly: fact.readonly, attachedAt: new Date().toISOString(), publishContext: {} };
      byVolume.set(fact.volumeId, rec);
    }
    for (const rec of byVolume.values()) {
      await f.attachments.put(rec);
      rebuilt++;
    }
    if (rebuilt) ctx.log.warn({ rebuilt }, 'attachment records rebuilt from VolumeAttachments');
  }
  let cleared = 0;
  let held = 0;
  const known = await f.nodes.list();
  if (known) {
    for (const rec of await f.attachments.all()) {
      for (const nodeId of Object.keys(rec.nodes)) {
        if (known.includes(nodeId)) continue;
        // Listed only when a node is gone; a failed list fails the job (retried): never clear on a guess.
        if ((await vaFacts()).some((va) => va.nodeId === nodeId && va.volumeId === rec.volumeId)) {
          held++;
          ctx.log.info(
            { volumeId: rec.volumeId, node: nodeId },
            'node is gone but its VolumeAttachment remains: attachment kept until it is detached',
          );
          continue;
        }
        // The slot is the id's own (`<slot>@<backend>` on an extra backend, issue 16; the bare id on the primary).
        await f.enqueueDetach(rec.volumeId, nodeId, splitId(rec.volumeId)?.slot ?? rec.volumeId);
        cleared++;
      }
    }
  }
  f.metrics.reconcile('rebuilt', rebuilt);
  f.metrics.reconcile('node-deleted', cleared);
  f.metrics.reconcile('node-deleted-va-remains', held);
  return { rebuilt, cleared };
};
