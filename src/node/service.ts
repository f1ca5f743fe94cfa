import type { NodeHandlers } from '../generated/csi/v1/Node';
import type { ServiceImpl } from '../grpc/service';
import type { NodeDeps } from './deps';
import { expandVolume } from './expand';
import { publishVolume, unpublishVolume } from './publish';
import { stageVolume } from './stage';
import { volumeStats } from './stats';
import { unstageVolume } from './unstage';

/**
 * The CSI Node service: typed handlers for buildHandlers(). Host errors keep their caller-facing messages; the
 * edge maps them to gRPC codes with the node's classifier (deps.nodeFailure, wired in app.ts); anything unexpected
 * stays INTERNAL.
 */

export function nodeService(d: NodeDeps): ServiceImpl<NodeHandlers> {
  return {
    NodeGetCapabilities: () =>
      Promise.resolve({
        // SINGLE_NODE_MULTI_WRITER: the node accepts SINGLE_NODE_SINGLE_WRITER / SINGLE_NODE_MULTI_WRITER and applies the
        // CSI spec's NodePublishVolume table for them (single-writer.ts); the controller advertises it as well.
        capabilities: (['STAGE_UNSTAGE_VOLUME', 'EXPAND_VOLUME', 'GET_VOLUME_STATS', 'VOLUME_CONDITION', 'SINGLE_NODE_MULTI_WRITER'] as const).map(
          (type) => ({ rpc: { type } }),
        ),
      }),
    // accessible_topology: the kubelet copies it onto the Node's labels and its keys into CSINode, where
    // external-provisioner's capacity controller and topology-aware provisioning read them. With node.backends: the
    // segments of the backends reached at start-up, in one map (node-topology.ts).
    NodeGetInfo: () =>
      Promise.resolve({
        nodeId: d.opts.nodeId,
        maxVolumesPerNode: String(d.opts.maxVolumesPerNode),
        accessibleTopology: { segments: d.topology.segments },
      }),
    NodeStageVolume: (req, ctx) => stageVolume(d, req, ctx),
    NodeUnstageVolume: (req) => unstageVolume(d, req),
    NodePublishVolume: (req) => publishVolume(d, req),
    NodeUnpublishVolume: (req) => unpublishVolume(d, req),
    NodeGetVolumeStats: (req) => volumeStats(d, req),
    NodeExpandVolume: (req, ctx) => expandVolume(d, req, ctx),
  };
}
