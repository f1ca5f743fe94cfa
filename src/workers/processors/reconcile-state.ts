import { rebuildRecords } from '../../reconcile/state';
import type { Processor } from '../context';

/**
 * reconcile.state (at start-up when Redis holds no records — fresh or lost): rebuild volume and snapshot records
 * from the disks on RDS (src/reconcile/state.ts), then count and log what was rebuilt. One run per RDS backend
 * (issue 16): the worker host gives it that backend's port and base path, `ctx.backend` names an extra one.
 */
export const reconcileState: Processor<'reconcile.state'> = async (_data, ctx) => {
  const { records } = ctx;
  const rebuilt = await rebuildRecords(
    { rds: ctx.rds, volumes: records.volumes, snapshots: records.snapshots },
    { basePath: ctx.basePath, volumePrefix: ctx.volumePrefix, nqnPrefix: ctx.nqnPrefix, owner: ctx.owner, backend: ctx.backend },
  );
  if (!rebuilt) return { volumes: 0, snapshots: 0 };
  ctx.metrics.reconcile('records-rebuilt', rebuilt.volumes + rebuilt.snapshots);
  ctx.log.warn({ ...rebuilt, ...(ctx.backend === undefined ? {} : { backend: ctx.backend }) }, 'Redis held no records: rebuilt them from RDS');
  return rebuilt;
};
