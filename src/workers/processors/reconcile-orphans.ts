import { deleteOrphans, findOrphans, OrphanDeleteRefused } from '../../reconcile/orphans';
import type { Processor } from '../context';

/**
 * reconcile.orphans (a job scheduler per RDS backend, one instance cluster-wide each; issue 16: the worker host gives
 * it that backend's port and base path, `ctx.backend` names an extra one): disks under the driver's slot prefix and base
 * path that no record knows, and backing files under the base path that no disk uses. Reported every run (log,
 * metric, `rds-csi orphans list`); deleted only when enabled and older than the grace period measured from the
 * orphan's own first sighting. Nothing outside the base path, and no exported disk, is ever deleted; nothing at all
 * while Redis holds no record (deleteOrphans' own guard: after a Redis flush every disk would look orphaned).
 */
export const reconcileOrphans: Processor<'reconcile.orphans'> = async (_data, ctx) => {
  const { orphans: policy, records, events, metrics } = ctx;
  const report = await findOrphans(
    { rds: ctx.rds, volumes: records.volumes, snapshots: records.snapshots, listFiles: () => ctx.rds.listFiles() },
    { basePath: ctx.basePath, slotPrefix: policy.slotPrefix, owner: policy.owner, backend: ctx.backend },
  );
  // Sightings of an extra backend's orphans are kept under `@<backend>:` (a name holds no ':'), the primary's as
  // before; each run forgets only its own backend's sightings that are no longer orphans.
  const mark = ctx.backend === undefined ? '' : `@${ctx.backend}:`;
  const keyOf = { disk: (slot: string, file: string) => `${mark}disk:${slot}:${file}`, file: (p: string) => `${mark}file:${p}` };
  const mine = (key: string): boolean => (mark ? key.startsWith(mark) : !key.startsWith('@'));
  const now = Date.now();
  const seen = await policy.sightings.observe(
    [...report.disks.map((d) => keyOf.disk(d.slot, d.filePath)), ...report.files.map((f) => keyOf.file(f.path))],
    now,
    mine,
  );
  metrics.reconcile('orphan-disks-seen', report.disks.length);
  metrics.reconcile('orphan-files-seen', report.files.length);
  if (report.disks.length || report.files.length) {
    ctx.log.warn(
      {
        disks: report.disks.map((d) => d.slot),
        files: report.files.map((f) => f.path),
        deleteEnabled: policy.delete,
        ...(ctx.backend === undefined ? {} : { backend: ctx.backend }),
      },
      'orphans on RDS: nothing the driver knows uses them (rds-csi orphans list)',
    );
    const names = [...report.disks.map((d) => d.slot), ...report.files.map((f) => f.path)];
    await events.emitDriver(
      'Warning',
      'OrphansFound',
      `${report.disks.length} disk(s) and ${report.files.length} backing file(s) under ${ctx.basePath}` +
        `${ctx.backend === undefined ? '' : ` on backend ${ctx.backend}`} that no volume or snapshot uses: ` +
        `${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}; see rds-csi orphans list` +
        (policy.delete ? `; they are deleted ${Math.round(policy.graceMs / 3600000)}h after first sighting` : ''),
    );
  }
  let deleted = 0;
  let refused: string | undefined;
  if (policy.delete) {
    const ripe = (key: string): boolean => now - (seen.get(key) ?? now) >= policy.graceMs;
    const due = {
      ...report,
      disks: report.disks.filter((d) => ripe(keyOf.disk(d.slot, d.filePath))),
      files: report.files.filter((f) => ripe(keyOf.file(f.path))),
    };
    if (due.disks.length || due.files.length) {
      try {
        // Never includeExported here: a node may still be connected to an exported disk.
        const outcomes = await deleteOrphans({ rds: ctx.rds, volumes: records.volumes, snapshots: records.snapshots }, due);
        deleted = outcomes.filter((o) => o.result === 'deleted').length;
        for (const o of outcomes) ctx.log.warn({ kind: o.kind, path: o.path, result: o.result, detail: o.detail }, 'orphan cleanup');
        metrics.reconcile('orphans-deleted', deleted);
      } catch (err) {
        if (!(err instanceof OrphanDeleteRefused)) throw err;
        refused = err.message;
        ctx.log.error({ reason: refused }, 'orphan cleanup refused: nothing deleted');
        metrics.reconcile('orphans-delete-refused', 1);
        await events.emitDriver('Warning', 'OrphanCleanupRefused', refused);
      }
    }
  }
  return { disks: report.disks.length, files: report.files.length, deleted, ...(refused ? { refused } : {}) };
};
