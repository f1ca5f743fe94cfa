import { Failure } from '../../domain/failure';
import type { AttachmentRecord } from '../../state/attachment-record';
import { type Processor } from '../context';
import { syncAllowedHosts } from './allowed-hosts';

/**
 * fence.attach (ControllerPublishVolume), serialized per volume by the lease:
 * - same node again → OK with the same publish_context; readonly differs → ALREADY_EXISTS;
 * - single-node modes on another node → FAILED_PRECONDITION naming it;
 * - RWX block: a second node opens a migration window (a delayed migration.timeout job); a third, or any new node
 *   after the window expired with both attached → FAILED_PRECONDITION.
 */
export const fenceAttach: Processor<'fence.attach'> = async (data, ctx) => {
  const f = ctx.fencing;
  const rec: AttachmentRecord = (await f.attachments.get(data.volumeId)) ?? { volumeId: data.volumeId, nodes: {}, pvc: data.pvc };
  const mine = rec.nodes[data.nodeId];
  if (mine) {
    if (mine.readonly !== data.readonly) {
      throw new Failure('conflict', `volume ${data.volumeId} is already published to node ${data.nodeId} with readonly=${mine.readonly}`);
    }
    return { publishContext: mine.publishContext };
  }
  const others = Object.keys(rec.nodes);
  if (others.length > 0 && data.sharing === 'single') {
    f.metrics.conflict('single-node');
    await f.events.emit(
      rec.pvc,
      'Warning',
      'AttachmentConflict',
      `volume ${data.volumeId} is attached to node ${others[0]}; refused node ${data.nodeId}`,
    );
    throw new Failure(
      'precondition',
      `volume ${data.volumeId} is published to node ${others[0]} (single-node access mode); unpublish it there first`,
    );
  }
  if (data.sharing === 'migrate') {
    if (rec.migration?.timedOut) {
      f.metrics.conflict('migration-expired');
      throw new Failure(
        'precondition',
        `volume ${data.volumeId}: the migration from ${rec.migration.from} to ${rec.migration.to} outlived its window; no new attachment until one side detaches`,
      );
    }
    if (others.length >= 2) {
      f.metrics.conflict('third-node');
      await f.events.emit(
        rec.pvc,
        'Warning',
        'AttachmentConflict',
        `volume ${data.volumeId} is already attached to ${others.join(' and ')}; refused a third node ${data.nodeId}`,
      );
      throw new Failure('precondition', `volume ${data.volumeId} is attached to two nodes (${others.join(', ')}): at most 2 during a live migration`);
    }
  }
  rec.nodes[data.nodeId] = { readonly: data.readonly, attachedAt: new Date().toISOString(), publishContext: data.publishContext };
  if (data.sharing === 'migrate' && others.length === 1) {
    rec.migration = { from: others[0], to: data.nodeId, startedAt: Date.now(), windowSeconds: data.migrationWindowSeconds };
  }
  if (f.storageSide) await syncAllowedHosts(ctx, data.slot, Object.keys(rec.nodes), rec.pvc ?? data.pvc);
  await f.attachments.put(rec);
  if (rec.migration && rec.migration.to === data.nodeId) {
    await f.scheduleTimeout(data.volumeId, rec.migration.startedAt, rec.migration.windowSeconds * 1000);
    await f.events.emit(
      rec.pvc,
      'Normal',
      'MigrationStarted',
      `live migration of ${data.volumeId} from ${rec.migration.from} to ${data.nodeId}; window ${rec.migration.windowSeconds}s`,
    );
  }
  ctx.log.info({ node: data.nodeId, nodes: Object.keys(rec.nodes) }, 'volume published');
  return { publishContext: data.publishContext };
};
