import { fencingOf, type Processor } from '../context';
import type { AttachmentRecord } from '../../state/attachment-record';

/**
 * reconcile.attachments (at start-up and on a schedule): when Redis has no attachment records, rebuild them from
 * this driver's VolumeAttachments; then clear attachments of nodes that no longer exist (through fence.detach, so
 * each volume's lease is honoured).
 */
export const reconcileAttachments: Processor<'reconcile.attachments'> = async (_data, ctx) => {
  const f = fencingOf(ctx);
  let rebuilt = 0;
  if ((await f.attachments.count()) === 0) {
    const byVolume = new Map<string, AttachmentRecord>();
    for (const fact of await f.vaSource.list()) {
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
  const known = await f.nodes.list();
  if (known) {
    for (const rec of await f.attachments.all()) {
      for (const nodeId of Object.keys(rec.nodes)) {
        if (!known.includes(nodeId)) {
          await f.enqueueDetach(rec.volumeId, nodeId, rec.volumeId);
          cleared++;
        }
      }
    }
  }
  f.metrics?.reconcile('rebuilt', rebuilt);
  f.metrics?.reconcile('node-deleted', cleared);
  return { rebuilt, cleared };
};
