import type { ControllerHandlers } from '../generated/csi/v1/Controller';
import { ENCRYPTION_PARAM, encryptionMismatch } from '../domain/encryption';
import { Failure, aborted, invalid, notFound, type FailureKind } from '../domain/failure';
import { isSnapshotId, isVolumeId, volumeIdFromName } from '../domain/ids';
import { placeSegment } from '../domain/topology';
import { accessModeOf } from '../grpc/enums';
import type { ServiceImpl } from '../grpc/service';
import type { ControllerDeps } from './controller-deps';
import { checkAccessibility } from './accessibility';
import { portFailure } from './error-map';
import { encodeToken, pageLimit, pageStart } from './page-token';
import { readyVolume } from './ready-volume';
import {
  capabilityProblem,
  createVolumeSpec,
  validateCapabilities,
  validateCreateVolume,
  type ContentSource,
  type CreateVolumeSpec,
} from './validate';
import { toCsiVolume } from './volume-view';
import type { VolumeCondition } from './volume-health';
import type { AttachmentRecord } from '../state/attachment-record';
import { waitBudget } from './wait-budget';

/** CreateVolume, DeleteVolume, ValidateVolumeCapabilities, GetCapacity, ListVolumes, ControllerGetVolume. */

/**
 * A migration that outlived its window is abnormal (docs/ARCHITECTURE.md §4); reported when RDS shows nothing worse
 * (a missing disk is the worse news).
 */
function migrationCondition(att: AttachmentRecord | undefined): VolumeCondition | undefined {
  const m = att?.migration;
  if (!m?.timedOut) return undefined;
  return {
    kind: 'migration-timed-out',
    abnormal: true,
    message: `live migration from ${m.from} to ${m.to} outlived its ${m.windowSeconds}s window; detach one side`,
  };
}

function requireVolumeId(id: string): void {
  if (!id) throw invalid('volume_id is required');
}

/** The RDS slot and size of a restore/clone source; NOT_FOUND when it does not exist (or is not an id of ours). */
async function resolveSource(src: ContentSource, d: ControllerDeps): Promise<{ slot: string; bytes: number; encryption?: string }> {
  if (src.kind === 'snapshot') {
    const snap = isSnapshotId(src.id, d.volumePrefix) ? await d.snapshots.get(src.id) : undefined;
    if (!snap || snap.state === 'deleting') throw notFound(`source snapshot ${src.id} does not exist`);
    if (snap.state !== 'ready') throw aborted(`source snapshot ${src.id} is not ready yet (its copy is still running); retry`);
    return { slot: snap.slot, bytes: snap.sizeBytes, encryption: snap.encryption };
  }
  const vol = await readyVolume(d, src.id, 'source volume');
  return { slot: vol.slot, bytes: vol.capacityBytes, encryption: vol.context[ENCRYPTION_PARAM] };
}

/**
 * Failures an operator must act on become a Warning event on the PVC (rate-limited by the event sink, so the
 * provisioner's retry loop cannot flood the API): pool full, RDS unreachable, RDS refusing the request.
 */
const OPERATOR_FAILURES: Partial<Record<FailureKind, string>> = {
  exhausted: 'PoolFull',
  unavailable: 'RdsUnreachable',
  precondition: 'ProvisioningFailed',
  unknown: 'ProvisioningFailed',
  internal: 'ProvisioningFailed',
};

async function reportProvisioningFailure(d: ControllerDeps, spec: CreateVolumeSpec, raised: unknown): Promise<void> {
  const err = portFailure(raised);
  const reason = err instanceof Failure ? OPERATOR_FAILURES[err.kind] : undefined;
  if (!reason || !spec.pvcName || !spec.pvcNamespace) return;
  await d.events.emit({ name: spec.pvcName, namespace: spec.pvcNamespace }, 'Warning', reason, (err as Error).message);
}

export function volumeHandlers(d: ControllerDeps): ServiceImpl<ControllerHandlers> {
  return {
    CreateVolume: async (req, ctx) => {
      // Shape first (cheap, INVALID_ARGUMENT), then the source's existence (NOT_FOUND) and its size.
      const shape = validateCreateVolume(req, d.limits);
      checkAccessibility(req.accessibilityRequirements, d.topology);
      const src = shape.spec.source;
      const resolved = src ? await resolveSource(src, d) : undefined;
      const mismatch = src && encryptionMismatch(shape.spec.context[ENCRYPTION_PARAM], resolved?.encryption, src.kind);
      if (mismatch) throw invalid(mismatch);
      const spec = createVolumeSpec(shape, d.limits, resolved?.bytes ?? 0);
      const id = volumeIdFromName(spec.name, d.volumePrefix);
      try {
        const rec = await d.ops.create(id, spec, waitBudget(ctx, d), resolved?.slot);
        return { volume: toCsiVolume(rec, d.target, d.topology) };
      } catch (err) {
        await reportProvisioningFailure(d, spec, err);
        throw err;
      }
    },

    DeleteVolume: async (req, ctx) => {
      requireVolumeId(req.volumeId);
      // Not one of our ids (e.g. a snapshot id): nothing of ours to delete, which CSI answers with OK.
      if (!isVolumeId(req.volumeId, d.volumePrefix)) return {};
      await d.ops.delete(req.volumeId, waitBudget(ctx, d));
      d.health.forget(req.volumeId);
      return {};
    },

    ValidateVolumeCapabilities: async (req) => {
      requireVolumeId(req.volumeId);
      if (!req.volumeCapabilities?.length) throw invalid('volume_capabilities must contain at least one capability');
      // A number the access-mode enum does not define is a malformed request, not an unsupported capability.
      for (const [i, cap] of req.volumeCapabilities.entries()) {
        const access = accessModeOf(cap.accessMode);
        if (access.kind === 'invalid') throw invalid(`volume_capabilities[${i}]: ${access.problem}`);
      }
      const rec = await readyVolume(d, req.volumeId);
      for (const cap of req.volumeCapabilities) {
        const problem = capabilityProblem(cap);
        if (problem) return { message: problem };
        const kind = cap.block ? 'block' : 'mount';
        if (kind !== rec.accessType && !rec.rebuilt) return { message: `volume ${rec.id} was created for ${rec.accessType} access, not ${kind}` };
      }
      return { confirmed: { volumeCapabilities: req.volumeCapabilities, volumeContext: req.volumeContext, parameters: req.parameters } };
    },

    GetCapacity: async (req) => {
      if (req.volumeCapabilities?.length) validateCapabilities(req.volumeCapabilities, { anyAccessMode: true });
      // A segment of another backend (or one we cannot vouch for) holds none of this pool: 0, not an error, as
      // external-provisioner's capacity controller asks for every segment it finds among the nodes.
      if (placeSegment(req.accessibleTopology?.segments, d.topology) === 'foreign') {
        return { availableCapacity: '0', maximumVolumeSize: { value: '0' }, minimumVolumeSize: { value: String(d.limits.minBytes) } };
      }
      const pool = await d.rds.poolCapacity();
      const maxVolume = Math.min(d.limits.maxBytes, pool.freeBytes);
      return {
        availableCapacity: String(pool.freeBytes),
        maximumVolumeSize: { value: String(Math.max(0, maxVolume)) },
        minimumVolumeSize: { value: String(d.limits.minBytes) },
      };
    },

    ListVolumes: async (req) => {
      const limit = pageLimit(req.maxEntries);
      const page = await d.store.page(pageStart(req.startingToken), limit);
      const ready = page.records.filter((r) => r.state === 'ready');
      // The attachments of this page only: reading every attachment per page made paging N volumes O(N²).
      const [atts, view] = await Promise.all([
        d.attachments.getMany(ready.map((r) => r.id)),
        // One /disk/print per page (not per volume), only when the page has volumes; never throws (volume-health.ts).
        ready.length ? d.health.view(() => d.rds.listDisks(d.volumePrefix)) : undefined,
      ]);
      const byId = new Map(atts.map((a) => [a.volumeId, a]));
      return {
        entries: ready.map((r) => {
          const att = byId.get(r.id);
          const condition = d.health.report(r, view!, migrationCondition(att));
          return {
            volume: toCsiVolume(r, d.target, d.topology),
            status: {
              publishedNodeIds: Object.keys(att?.nodes ?? {}),
              volumeCondition: { abnormal: condition.abnormal, message: condition.message },
            },
          };
        }),
        nextToken: page.next ? encodeToken(page.next) : '',
      };
    },

    ControllerGetVolume: async (req) => {
      requireVolumeId(req.volumeId);
      const rec = await readyVolume(d, req.volumeId);
      const [view, att] = await Promise.all([
        d.health.view(async () => {
          const disk = await d.rds.getDisk(rec.slot);
          return disk ? [disk] : [];
        }),
        d.attachments.get(rec.id),
      ]);
      let condition = d.health.report(rec, view, migrationCondition(att));
      // A healthy volume in a live migration says so (normal, with the migration in the message).
      const m = att?.migration;
      if (!condition.abnormal && m) condition = { ...condition, message: `live migration from ${m.from} to ${m.to} in progress` };
      return {
        volume: toCsiVolume(rec, d.target, d.topology),
        status: { publishedNodeIds: Object.keys(att?.nodes ?? {}), volumeCondition: { abnormal: condition.abnormal, message: condition.message } },
      };
    },
  };
}
