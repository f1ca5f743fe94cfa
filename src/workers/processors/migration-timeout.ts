import type { Processor } from '../context';

/**
 * migration.timeout: fires when a live migration's window ends. Still two nodes attached → the migration failed:
 * Warning event, metric, the volume's condition turns abnormal, and no new attachment is accepted until one side
 * detaches. A migration that already ended (or a newer one) makes this a no-op.
 */
export const migrationTimeout: Processor<'migration.timeout'> = async (data, ctx) => {
  const f = ctx.fencing;
  const rec = await f.attachments.get(data.volumeId);
  const m = rec?.migration;
  if (!rec || !m || m.startedAt !== data.startedAt || m.timedOut || Object.keys(rec.nodes).length < 2) return { fired: false };
  m.timedOut = true;
  await f.attachments.put(rec);
  f.metrics.migrationEnded('failed', (Date.now() - m.startedAt) / 1000);
  await f.events.emit(
    rec.pvc,
    'Warning',
    'MigrationFailed',
    `live migration of ${data.volumeId} from ${m.from} to ${m.to} did not finish within ${m.windowSeconds}s; both nodes are still attached. Detach one side`,
  );
  ctx.log.warn({ from: m.from, to: m.to, windowSeconds: m.windowSeconds }, 'migration window expired');
  return { fired: true };
};
