import { segmentOf } from '../domain/topology';
import type { NodeHandlers } from '../generated/csi/v1/Node';
import type { CallContext, ServiceImpl } from '../grpc/service';
import { type NodeDeps, toGrpcError } from './deps';
import { expandVolume } from './expand';
import { publishVolume, unpublishVolume } from './publish';
import { stageVolume } from './stage';
import { volumeStats } from './stats';
import { unstageVolume } from './unstage';

/**
 * The CSI Node service: typed handlers for buildHandlers(). Host errors keep their caller-facing messages and map
 * to gRPC codes (toGrpcError); anything unexpected stays INTERNAL through the shared edge.
 */

function wrap<Req, Res>(fn: (req: Req, ctx: CallContext) => Promise<Res>): (req: Req, ctx: CallContext) => Promise<Res> {
  return async (req, ctx) => {
    try {
      return await fn(req, ctx);
    } catch (err) {
      throw toGrpcError(err);
    }
  };
}

export function nodeService(d: NodeDeps): ServiceImpl<NodeHandlers> {
  return {
    NodeGetCapabilities: () =>
      Promise.resolve({
        capabilities: (['STAGE_UNSTAGE_VOLUME', 'EXPAND_VOLUME', 'GET_VOLUME_STATS', 'VOLUME_CONDITION'] as const).map((type) => ({ rpc: { type } })),
      }),
    // accessible_topology: the kubelet copies it onto the Node's labels and its keys into CSINode, where
    // external-provisioner's capacity controller and topology-aware provisioning read them.
    NodeGetInfo: () =>
      Promise.resolve({ nodeId: d.opts.nodeId, maxVolumesPerNode: String(d.opts.maxVolumesPerNode), accessibleTopology: { segments: segmentOf(d.topology) } }),
    NodeStageVolume: wrap((req, ctx) => stageVolume(d, req, ctx)),
    NodeUnstageVolume: wrap((req) => unstageVolume(d, req)),
    NodePublishVolume: wrap((req) => publishVolume(d, req)),
    NodeUnpublishVolume: wrap((req) => unpublishVolume(d, req)),
    NodeGetVolumeStats: wrap((req) => volumeStats(d, req)),
    NodeExpandVolume: wrap((req, ctx) => expandVolume(d, req, ctx)),
  };
}
