import type { JobName } from '../../queue/jobs';
import type { Processor } from '../context';
import { diskCreate } from './disk-create';
import { diskDelete } from './disk-delete';
import { targetExport } from './target-export';

/** One small processor per job type. */
export const processors: { [N in JobName]: Processor<N> } = {
  'disk.create': diskCreate,
  'target.export': targetExport,
  'disk.delete': diskDelete,
};
