/**
 * Controller service: the thin gRPC edge. Mutating RPCs validate and go through the queue; read-only RPCs read
 * the records and RDS directly. Each group of RPCs lives in its own file.
 */
import type { ControllerHandlers } from '../generated/csi/v1/Controller';
import type { ServiceImpl } from '../grpc/service';
import type { ControllerDeps } from './controller-deps';
import { expandHandlers } from './expand-rpc';
import { publishHandlers } from './publish-rpcs';
import { snapshotHandlers } from './snapshot-rpcs';
import { volumeHandlers } from './volume-rpcs';

export type { ControllerDeps } from './controller-deps';

const CAPABILITIES = [
  'CREATE_DELETE_VOLUME',
  'LIST_VOLUMES',
  'GET_CAPACITY',
  'GET_VOLUME',
  'VOLUME_CONDITION',
  'SINGLE_NODE_MULTI_WRITER',
  'CREATE_DELETE_SNAPSHOT',
  'LIST_SNAPSHOTS',
  'CLONE_VOLUME',
  'EXPAND_VOLUME',
  'PUBLISH_UNPUBLISH_VOLUME',
  'PUBLISH_READONLY',
  'LIST_VOLUMES_PUBLISHED_NODES',
] as const;

export function controllerService(d: ControllerDeps): ServiceImpl<ControllerHandlers> {
  return {
    ControllerGetCapabilities: () => Promise.resolve({ capabilities: CAPABILITIES.map((type) => ({ rpc: { type } })) }),
    ...volumeHandlers(d),
    ...snapshotHandlers(d),
    ...expandHandlers(d),
    ...publishHandlers(d),
  };
}
