import type { Processor } from '../context';
import { syncAllowedHosts } from './allowed-hosts';

/**
 * fence.detach (ControllerUnpublishVolume, or the reconciler for a deleted node). Not attached → OK. Ends a
 * migration: the source leaving completes it, the target leaving aborts it; the timeout job is cancelled.
 */
export const fenceDetach: Processor<'fence.detach'> = async (data, ctx) => {
  const f = ctx.fencing;
  const rec = await f.attachments.get(data.volumeId);
  if (!rec || !rec.nodes[data.nodeId]) return { detached: false };
  delete rec.nodes[data.nodeId];
  const migration = rec.migration;
  if (migration && (migration.from === data.nodeId || migration.to === data.nodeId)) {
    delete rec.migration;
    await f.cancelTimeout(data.volumeId, migration.startedAt);
    const seconds = (Date.now() - migration.startedAt) / 1000;
    const outcome = migration.timedOut ? 'failed' : migration.from === data.nodeId ? 'completed' : 'aborted';
    f.metrics.migrationEnded(outcome, seconds);
    if (outcome === 'completed') {
      await f.events.emit(
        rec.pvc,
        'Normal',
        'MigrationCompleted',
        `live migration of ${data.volumeId} to ${migration.to} completed in ${seconds.toFixed(1)}s`,
      );
    } else {
      await f.events.emit(
        rec.pvc,
        'Normal',
        'MigrationAborted',
        `live migration of ${data.volumeId} to ${migration.to} ended after ${seconds.toFixed(1)}s: ${data.nodeId} detached`,
      );
    }
  }
  if (f.storageSide) await syncAllowedHosts(ctx, data.slot, Object.keys(rec.nodes));
  await f.attachments.put(rec);
  if (data.reason === 'node-deleted') {
    await f.events.emit(
      rec.pvc,
      'Warning',
      'StaleAttachmentCleared',
      `node ${data.nodeId} no longer exists; its attachment of ${data.volumeId} was cleared`,
    );
  }
  ctx.log.info({ node: data.nodeId, reason: data.reason, nodes: Object.keys(rec.nodes) }, 'volume unpublished');
  return { detached: true };
};
