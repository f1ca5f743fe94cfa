/**
 * ControllerPublishVolume / ControllerUnpublishVolume as fence.attach / fence.detach jobs (the rules live in the
 * processors, serialized per volume). publish_context carries what the node must not guess: target and NQN.
 */
import type { ControllerHandlers } from '../generated/csi/v1/Controller';
import { invalid, notFound } from '../domain/failure';
import type { VolumeCapability__Output } from '../generated/csi/v1/VolumeCapability';
import { accessModeOf } from '../grpc/enums';
import type { ServiceImpl } from '../grpc/service';
import type { SharingMode } from '../queue/jobs';
import { locate, unconfiguredBackend } from './backend-of';
import type { ControllerDeps } from './controller-deps';
import { readyVolume } from './ready-volume';
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
      const rec = await readyVolume(d, req.volumeId);
      const at = locate(d.backends, rec.id, 'volume', d.volumePrefix);
      if (at.kind !== 'ours') throw notFound(`volume ${rec.id} does not exist`); // readyVolume found it: cannot happen
      // The node connects to the volume's own RDS (issue 16): its backend's NVMe/TCP address and port.
      const target = at.backend.target;
      const kind = cap.block ? 'block' : 'mount';
      if (kind !== rec.accessType && !rec.rebuilt)
        throw invalid(`volume ${rec.id} is a ${rec.accessType} volume; it cannot be published for ${kind} access`);
      if (!(await d.nodes.exists(req.nodeId))) throw notFound(`node ${req.nodeId} does not exist`);
      const publishContext = await d.ops.publish(
        rec,
        {
          nodeId: req.nodeId,
          readonly: req.readonly,
          sharing: sharingOf(cap),
          migrationWindowSeconds: Number(rec.context.migrationWindowSeconds ?? d.defaultMigrationWindowSeconds),
          publishContext: { nqn: rec.nqn, targetAddress: target.address, targetPort: String(target.port) },
        },
        waitBudget(ctx, d),
      );
      return { publishContext };
    },

    ControllerUnpublishVolume: async (req, ctx) => {
      if (!req.volumeId) throw invalid('volume_id is required');
      // Not an id this driver makes: never published here, OK. On a backend this configuration lacks: it may be
      // published there, FAILED_PRECONDITION rather than a false "done".
      const at = locate(d.backends, req.volumeId, 'volume', d.volumePrefix);
      if (at.kind === 'not-ours') return {};
      if (at.kind === 'unconfigured') throw unconfiguredBackend('volume', req.volumeId, at.name, d.backends);
      await d.ops.unpublish(req.volumeId, req.nodeId, waitBudget(ctx, d));
      return {};
    },
  };
}
