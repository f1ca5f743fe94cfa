/**
 * ControllerPublishVolume / ControllerUnpublishVolume as fence.attach / fence.detach jobs (the rules live in the
 * processors, serialized per volume). publish_context carries what the node must not guess: target and NQN.
 */
import type { ControllerHandlers } from '../generated/csi/v1/Controller';
import { isVolumeId } from '../domain/ids';
import type { VolumeCapability__Output } from '../generated/csi/v1/VolumeCapability';
import { accessModeOf } from '../grpc/enums';
import { invalid, notFound } from '../grpc/errors';
import type { ServiceImpl } from '../grpc/service';
import { jobId, type SharingMode } from '../queue/jobs';
import type { ControllerDeps } from './controller-deps';
import { mapped } from './error-map';
import { capabilityProblem } from './validate';
import { waitBudget } from './wait-budget';

function sharingOf(cap: VolumeCapability__Output): SharingMode {
  // capabilityProblem has refused an unset mode and any number the CSI enum does not define.
  const access = accessModeOf(cap.accessMode);
  const mode = access.kind === 'set' ? access.mode : undefined;
  if (mode === 'MULTI_NODE_MULTI_WRITER' || mode === 'MULTI_NODE_SINGLE_WRITER') return 'migrate';
  if (mode === 'MULTI_NODE_READER_ONLY') return 'readers';
  return 'single';
}

export function publishHandlers(d: ControllerDeps): ServiceImpl<ControllerHandlers> {
  return {
    ControllerPublishVolume: async (req, ctx) => {
      if (!req.volumeId) throw invalid('volume_id is required');
      if (!req.nodeId) throw invalid('node_id is required');
      const cap = req.volumeCapability;
      if (!cap) throw invalid('volume_capability is required');
      const problem = capabilityProblem(cap);
      if (problem) throw invalid(`volume_capability: ${problem}`);
      const rec = isVolumeId(req.volumeId, d.volumePrefix) ? await mapped(() => d.store.get(req.volumeId)) : undefined;
      if (!rec || rec.state !== 'ready') throw notFound(`volume ${req.volumeId} does not exist`);
      const kind = cap.block ? 'block' : 'mount';
      if (kind !== rec.accessType && !rec.rebuilt) throw invalid(`volume ${rec.id} is a ${rec.accessType} volume; it cannot be published for ${kind} access`);
      if (!(await mapped(() => d.cluster.nodes.exists(req.nodeId)))) throw notFound(`node ${req.nodeId} does not exist`);
      const window = Number(rec.context.migrationWindowSeconds ?? d.defaultMigrationWindowSeconds);
      const publishContext = { nqn: rec.nqn, targetAddress: d.target.address, targetPort: String(d.target.port) };
      const res = await mapped(() =>
        d.opsOptions.runner.run(
          'fence.attach',
          jobId('fence.attach', rec.id, req.nodeId),
          {
            volumeId: rec.id,
            nodeId: req.nodeId,
            slot: rec.slot,
            readonly: req.readonly,
            sharing: sharingOf(cap),
            migrationWindowSeconds: window,
            publishContext,
            pvc: rec.pvcName && rec.pvcNamespace ? { name: rec.pvcName, namespace: rec.pvcNamespace } : undefined,
          },
          waitBudget(ctx, d),
          { fresh: true },
        ),
      );
      return { publishContext: res.publishContext };
    },

    ControllerUnpublishVolume: async (req, ctx) => {
      if (!req.volumeId) throw invalid('volume_id is required');
      if (!isVolumeId(req.volumeId, d.volumePrefix)) return {};
      const att = await mapped(() => d.attachments.get(req.volumeId));
      // Empty node_id: unpublish from every node (CSI). Nothing published there → OK.
      const nodes = req.nodeId ? [req.nodeId] : Object.keys(att?.nodes ?? {});
      for (const nodeId of nodes) {
        if (!att?.nodes[nodeId]) continue;
        await mapped(() =>
          d.opsOptions.runner.run(
            'fence.detach',
            jobId('fence.detach', req.volumeId, nodeId),
            { volumeId: req.volumeId, nodeId, slot: req.volumeId, reason: 'unpublish' },
            waitBudget(ctx, d),
            { fresh: true },
          ),
        );
      }
      return {};
    },
  };
}
