import type { ControllerHandlers } from '../generated/csi/v1/Controller';
import type { Volume } from '../generated/csi/v1/Volume';
import { ENCRYPTION_PARAM, encryptionMismatch } from '../domain/encryption';
import { placedId, splitId } from '../domain/backend-id';
import { Failure, aborted, invalid, notFound, type FailureKind } from '../domain/failure';
import { volumeIdFromName } from '../domain/ids';
import { reaches } from '../domain/placement';
import { accessModeOf } from '../grpc/enums';
import type { ServiceImpl } from '../grpc/service';
import type { Backend } from '../rds/backends';
import type { PoolCapacity } from '../rds/port';
import type { VolumeRecord } from '../state/volume-record';
import type { ControllerDeps } from './controller-deps';
import { locate, topologyOf, unconfiguredBackend } from './backend-of';
import { portFailure } from './error-map';
import {
  accessibleCandidates,
  classCandidates,
  existingBackend,
  onSourceBackend,
  placeVolume,
  placementOfParameters,
  requirementsOf,
} from './place-volume';
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
import type { RdsView, VolumeCondition } from './volume-health';
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

interface ResolvedSource {
  slot: string;
  bytes: number;
  encryption?: string;
  /** The backend the source lives on (its id says): a clone or restore stays there. */
  backend: Backend;
}

/**
 * The RDS slot, size and backend of a restore/clone source; NOT_FOUND when it does not exist (or is not an id of
 * ours), FAILED_PRECONDITION when it is on a backend this configuration does not have.
 */
async function resolveSource(src: ContentSource, d: ControllerDeps): Promise<ResolvedSource> {
  const at = locate(d.backends, src.id, src.kind, d.volumePrefix);
  if (at.kind === 'unconfigured') throw unconfiguredBackend(`source ${src.kind}`, src.id, at.name, d.backends);
  if (src.kind === 'snapshot') {
    const snap = at.kind === 'ours' ? await d.snapshots.get(src.id) : undefined;
    if (at.kind !== 'ours' || !snap || snap.state === 'deleting') throw notFound(`source snapshot ${src.id} does not exist`);
    if (snap.state !== 'ready') throw aborted(`source snapshot ${src.id} is not ready yet (its copy is still running); retry`);
    return { slot: snap.slot, bytes: snap.sizeBytes, encryption: snap.encryption, backend: at.backend };
  }
  const vol = await readyVolume(d, src.id, 'source volume');
  if (at.kind !== 'ours') throw notFound(`source volume ${src.id} does not exist`);
  return { slot: vol.slot, bytes: vol.capacityBytes, encryption: vol.context[ENCRYPTION_PARAM], backend: at.backend };
}

/** The backend a record's id names; undefined when the configuration does not have it (any more). */
function recordBackend(d: ControllerDeps, rec: VolumeRecord): Backend | undefined {
  const at = locate(d.backends, rec.id, 'volume', d.volumePrefix);
  return at.kind === 'ours' ? at.backend : undefined;
}

/** A volume as CSI shows it, with its backend's target and segment. */
function csiVolumeOf(d: ControllerDeps, rec: VolumeRecord, b: Backend | undefined): Volume {
  const named = b ?? { name: splitId(rec.id)?.backend ?? d.backends.primary.name, primary: false };
  return toCsiVolume(rec, b?.target, topologyOf(d.driverName, named));
}

/** A record whose backend this configuration does not have (removed since): listed, abnormal, never guessed at. */
function unconfiguredView(d: ControllerDeps, rec: VolumeRecord): RdsView {
  const name = splitId(rec.id)?.backend ?? '?';
  return { disks: { error: unconfiguredBackend('volume', rec.id, name, d.backends).message }, pool: { kind: 'unknown' } };
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

/** One /disk/print per backend on the page (not per volume); never throws (volume-health.ts). */
async function viewsPerBackend(d: ControllerDeps, backends: Array<Backend | undefined>): Promise<Map<string, RdsView>> {
  const distinct = [...new Map(backends.flatMap((b) => (b ? [[b.name, b] as const] : []))).values()];
  const views = await Promise.all(
    distinct.map((b) =>
      d.health.view(
        () => b.rds.listDisks(d.volumePrefix),
        () => d.poolOf(b),
      ),
    ),
  );
  return new Map(distinct.map((b, i) => [b.name, views[i]]));
}

export function volumeHandlers(d: ControllerDeps): ServiceImpl<ControllerHandlers> {
  return {
    CreateVolume: async (req, ctx) => {
      // Shape first (cheap, INVALID_ARGUMENT), then the source's existence (NOT_FOUND) and its size.
      const shape = validateCreateVolume(req, d.limits);
      // Placement (issue 16, src/domain/placement.ts): the class's candidates (INVALID_ARGUMENT for an unknown
      // backend), a volume of this name already placed, else those the requisite reaches (RESOURCE_EXHAUSTED).
      const params = placementOfParameters(shape.spec.placement);
      const allowed = classCandidates(d, params);
      const need = requirementsOf(req.accessibilityRequirements);
      const slot = volumeIdFromName(shape.spec.name, d.volumePrefix);
      const existing = await existingBackend(d, slot, shape.spec.name);
      let cands = existing ? [] : accessibleCandidates(allowed, need);
      const src = shape.spec.source;
      const resolved = src ? await resolveSource(src, d) : undefined;
      const mismatch = src && encryptionMismatch(shape.spec.context[ENCRYPTION_PARAM], resolved?.encryption, src.kind);
      if (mismatch) throw invalid(mismatch);
      if (src && resolved && !existing) cands = onSourceBackend(cands, allowed, src, resolved.backend);
      const spec = createVolumeSpec(shape, d.limits, resolved?.bytes ?? 0);
      const backend = existing ?? (await placeVolume(d, cands, need, params, spec.sizeBytes));
      const id = placedId(slot, backend.name, d.backends.primary.name);
      try {
        const place = { basePath: backend.config.rds.basePath, exportPort: backend.config.rds.exportPort };
        const rec = await d.ops.create(id, spec, waitBudget(ctx, d), place, resolved?.slot);
        return { volume: csiVolumeOf(d, rec, backend) };
      } catch (err) {
        await reportProvisioningFailure(d, spec, err);
        throw err;
      }
    },

    DeleteVolume: async (req, ctx) => {
      requireVolumeId(req.volumeId);
      // Not one of our ids (e.g. a snapshot id, a malformed backend mark): this driver never made such a volume,
      // which CSI answers with OK. On a backend this configuration lacks: it may exist, FAILED_PRECONDITION.
      const at = locate(d.backends, req.volumeId, 'volume', d.volumePrefix);
      if (at.kind === 'not-ours') return {};
      if (at.kind === 'unconfigured') throw unconfiguredBackend('volume', req.volumeId, at.name, d.backends);
      await d.ops.delete(req.volumeId, waitBudget(ctx, d), { basePath: at.backend.config.rds.basePath });
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
      // external-provisioner's capacity controller asks once per (segment, StorageClass) with the class's parameters
      // (pkg/capacity/capacity.go syncCapacity), and a segment is the full set of one node's topology labels under
      // the keys CSINode lists (pkg/capacity/topology/nodes.go sync): a node reaching two backends is one segment
      // naming both. So: the class's candidate backends that segment reaches; none (another backend's nodes, or
      // keys we cannot vouch for) hold none of this class's space: 0, not an error.
      const segment = req.accessibleTopology?.segments;
      const reached = classCandidates(d, placementOfParameters(req.parameters ?? {})).filter((c) => reaches(segment, c));
      if (!reached.length) {
        return { availableCapacity: '0', maximumVolumeSize: { value: '0' }, minimumVolumeSize: { value: String(d.limits.minBytes) } };
      }
      const pools = await Promise.allSettled(reached.map((c) => c.backend.rds.poolCapacity()));
      const read = pools.flatMap((p): PoolCapacity[] => (p.status === 'fulfilled' ? [p.value] : []));
      // Every reading failed: the error, as with one RDS; some failed: the backends that answered.
      if (!read.length) throw (pools[0] as PromiseRejectedResult).reason;
      // The largest pool's free space, not the sum: one volume lives in one RDS pool, so a class whose backends have
      // 10 GiB free each cannot place a 15 GiB volume (the scheduler compares a PVC's size with this number).
      const pool = read.reduce((a, b) => (b.freeBytes > a.freeBytes ? b : a));
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
      const backendOf = new Map(ready.map((r) => [r.id, recordBackend(d, r)]));
      const [atts, views] = await Promise.all([
        // The attachments of this page only: reading every attachment per page made paging N volumes O(N²).
        d.attachments.getMany(ready.map((r) => r.id)),
        viewsPerBackend(d, [...backendOf.values()]),
      ]);
      const byId = new Map(atts.map((a) => [a.volumeId, a]));
      return {
        entries: ready.map((r) => {
          const att = byId.get(r.id);
          const b = backendOf.get(r.id);
          const condition = d.health.report(r, b ? views.get(b.name)! : unconfiguredView(d, r), migrationCondition(att));
          return {
            volume: csiVolumeOf(d, r, b),
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
      const b = recordBackend(d, rec)!; // readyVolume refused ids of unconfigured backends
      const [view, att] = await Promise.all([
        d.health.view(
          async () => {
            const disk = await b.rds.getDisk(rec.slot);
            return disk ? [disk] : [];
          },
          () => d.poolOf(b),
        ),
        d.attachments.get(rec.id),
      ]);
      let condition = d.health.report(rec, view, migrationCondition(att));
      // A healthy volume in a live migration says so (normal, with the migration in the message).
      const m = att?.migration;
      if (!condition.abnormal && m) condition = { ...condition, message: `live migration from ${m.from} to ${m.to} in progress` };
      return {
        volume: csiVolumeOf(d, rec, b),
        status: { publishedNodeIds: Object.keys(att?.nodes ?? {}), volumeCondition: { abnormal: condition.abnormal, message: condition.message } },
      };
    },
  };
}
