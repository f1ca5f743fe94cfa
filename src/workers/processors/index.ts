import type { JobName } from '../../queue/jobs';
import type { Processor } from '../context';
import { diskCreate } from './disk-create';
import { diskDelete, snapshotDelete } from './disk-delete';
import { diskExpand } from './disk-expand';
import { fenceAttach } from './fence-attach';
import { fenceDetach } from './fence-detach';
import { migrationTimeout } from './migration-timeout';
import { reconcileAttachments } from './reconcile-attachments';
import { reconcileState } from './reconcile-state';
import { reconcileOrphans } from './reconcile-orphans';
import { snapshotCreate } from './snapshot-create';
import { targetExport } from './target-export';

/** One small processor per job type. */
export const processors: { [N in JobName]: Processor<N> } = {
  'disk.create': diskCreate,
  'target.export': targetExport,
  'disk.delete': diskDelete,
  'disk.expand': diskExpand,
  'snapshot.create': snapshotCreate,
  'snapshot.delete': snapshotDelete,
  'fence.attach': fenceAttach,
  'fence.detach': fenceDetach,
  'migration.timeout': migrationTimeout,
  'reconcile.attachments': reconcileAttachments,
  'reconcile.state': reconcileState,
  'reconcile.orphans': reconcileOrphans,
};
