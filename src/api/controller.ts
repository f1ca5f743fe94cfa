import type { ControllerHandlers } from '../generated/csi/v1/Controller';
import { volumeIdFromName, isVolumeId } from '../domain/ids';
import type { CapacityLimits } from '../domain/sizes';
import { aborted, invalid, notFound } from '../grpc/errors';
import type { CallContext, ServiceImpl } from '../grpc/service';
import type { RdsPort } from '../rds/port';
import type { VolumeStore } from '../state/volume-record';
import { mapped } from './error-map';
import { capabilityProblem, validateCapabilities, validateCreateVolume } from './validate';
import type { VolumeOperations } from './volume-operations';
import { toCsiVolume, type TargetInfo } from './volume-view';
import { decodeToken, encodeToken } from './page-token';

/**
 * Controller service: the thin gRPC edge. CreateVolume and DeleteVolume validate and go through the queue
 * (VolumeOperations); the read-only RPCs read the records and RDS directly.
 */
export interface ControllerDeps {
  ops: VolumeOperations;
  store: VolumeStore;
  rds: RdsPort;
  limits: CapacityLimits;
  volumePrefix: string;
  target: TargetInfo;
  deadlineMarginMs: number;
  defaultWaitMs: number;
}

const CAPABILITIES = ['CREATE_DELETE_VOLUME', 'LIST_VOLUMES', 'GET_CAPACITY', 'GET_VOLUME', 'VOLUME_CONDITION', 'SINGLE_NODE_MULTI_WRITER'] as const;
const MAX_PAGE = 1000;

function waitBudget(ctx: CallContext, d: ControllerDeps): number {
  const remaining = ctx.remainingMs();
  return Number.isFinite(remaining) ? Math.min(remaining - d.deadlineMarginMs, d.defaultWaitMs * 10) : d.defaultWaitMs;
}

function requireVolumeId(id: string): void {
  if (!id) throw invalid('volume_id is required');
}

export function controllerService(d: ControllerDeps): ServiceImpl<ControllerHandlers> {
  return {
    ControllerGetCapabilities: () => Promise.resolve({ capabilities: CAPABILITIES.map((type) => ({ rpc: { type } })) }),

    CreateVolume: async (req, ctx) => {
      const spec = validateCreateVolume(req, d.limits);
      const id = volumeIdFromName(spec.name, d.volumePrefix);
      const rec = await mapped(() => d.ops.create(id, spec, waitBudget(ctx, d)));
      return { volume: toCsiVolume(rec, d.target) };
    },

    DeleteVolume: async (req, ctx) => {
      requireVolumeId(req.volumeId);
      // Not one of our ids (e.g. a snapshot id): nothing of ours to delete, which CSI answers with OK.
      if (!isVolumeId(req.volumeId, d.volumePrefix)) return {};
      await mapped(() => d.ops.delete(req.volumeId, waitBudget(ctx, d)));
      return {};
    },

    ValidateVolumeCapabilities: async (req) => {
      requireVolumeId(req.volumeId);
      if (!req.volumeCapabilities?.length) throw invalid('volume_capabilities must contain at least one capability');
      const rec = isVolumeId(req.volumeId, d.volumePrefix) ? await mapped(() => d.store.get(req.volumeId)) : undefined;
      if (!rec || rec.state !== 'ready') throw notFound(`volume ${req.volumeId} does not exist`);
      for (const cap of req.volumeCapabilities) {
        const problem = capabilityProblem(cap);
        if (problem) return { message: problem };
        const kind = cap.block ? 'block' : 'mount';
        if (kind !== rec.accessType) return { message: `volume ${rec.id} was created for ${rec.accessType} access, not ${kind}` };
      }
      return { confirmed: { volumeCapabilities: req.volumeCapabilities, volumeContext: req.volumeContext, parameters: req.parameters } };
    },

    GetCapacity: async (req) => {
      if (req.volumeCapabilities?.length) validateCapabilities(req.volumeCapabilities);
      const pool = await mapped(() => d.rds.poolCapacity());
      const maxVolume = Math.min(d.limits.maxBytes, pool.freeBytes);
      return {
        availableCapacity: String(pool.freeBytes),
        maximumVolumeSize: { value: String(Math.max(0, maxVolume)) },
        minimumVolumeSize: { value: String(d.limits.minBytes) },
      };
    },

    ListVolumes: async (req) => {
      if (req.maxEntries < 0) throw invalid('max_entries must not be negative');
      let after: string | undefined;
      if (req.startingToken) {
        after = decodeToken(req.startingToken);
        if (after === undefined) throw aborted(`starting_token "${req.startingToken}" is not a token this plugin issued; list again from the start`);
      }
      const limit = req.maxEntries > 0 ? Math.min(req.maxEntries, MAX_PAGE) : MAX_PAGE;
      const page = await mapped(() => d.store.page(after, limit));
      return {
        entries: page.records.filter((r) => r.state === 'ready').map((r) => ({ volume: toCsiVolume(r, d.target), status: { publishedNodeIds: [] } })),
        nextToken: page.next ? encodeToken(page.next) : '',
      };
    },

    ControllerGetVolume: async (req) => {
      requireVolumeId(req.volumeId);
      const rec = isVolumeId(req.volumeId, d.volumePrefix) ? await mapped(() => d.store.get(req.volumeId)) : undefined;
      if (!rec || rec.state !== 'ready') throw notFound(`volume ${req.volumeId} does not exist`);
      const disk = await mapped(() => d.rds.getDisk(rec.slot));
      let condition = { abnormal: false, message: 'disk present and exported on RDS' };
      if (!disk) condition = { abnormal: true, message: `disk ${rec.slot} is missing on RDS` };
      else if (!disk.nvmeTcpExport) condition = { abnormal: true, message: `disk ${rec.slot} is not exported over NVMe/TCP` };
      return { volume: toCsiVolume(rec, d.target), status: { publishedNodeIds: [], volumeCondition: condition } };
    },
  };
}
