import { status } from '@grpc/grpc-js';
import type { ControllerHandlers } from '../generated/csi/v1/Controller';
import { isVolumeId } from '../domain/ids';
import { decideSize } from '../domain/sizes';
import { GrpcError, invalid, notFound } from '../grpc/errors';
import type { ServiceImpl } from '../grpc/service';
import type { ControllerDeps } from './controller-deps';
import { mapped } from './error-map';
import { capabilityProblem, int64 } from './validate';
import { expandVolume } from './volume-operations';
import { waitBudget } from './wait-budget';

/**
 * ControllerExpandVolume as a disk.expand job: grows the disk, never shrinks, and answers the size RDS reports.
 * A filesystem volume still needs NodeExpandVolume; a block volume does not (the node rescans on its next use).
 */
export function expandHandlers(d: ControllerDeps): ServiceImpl<ControllerHandlers> {
  return {
    ControllerExpandVolume: async (req, ctx) => {
      if (!req.volumeId) throw invalid('volume_id is required');
      if (!req.capacityRange) throw invalid('capacity_range is required');
      if (req.volumeCapability) {
        const problem = capabilityProblem(req.volumeCapability);
        if (problem) throw invalid(`volume_capability: ${problem}`);
      }
      const rec = isVolumeId(req.volumeId, d.volumePrefix) ? await mapped(() => d.store.get(req.volumeId)) : undefined;
      if (!rec || rec.state !== 'ready') throw notFound(`volume ${req.volumeId} does not exist`);
      const required = int64(req.capacityRange.requiredBytes, 'capacity_range.required_bytes');
      const limit = int64(req.capacityRange.limitBytes, 'capacity_range.limit_bytes');
      if (limit > 0 && limit < rec.capacityBytes) {
        throw new GrpcError(status.OUT_OF_RANGE, `limit_bytes ${limit} is below the current size ${rec.capacityBytes}; volumes never shrink`);
      }
      const size = decideSize(required, limit, { ...d.limits, defaultBytes: rec.capacityBytes });
      if (!size.ok) throw new GrpcError(status[size.code], size.message);
      const bytes = await mapped(() => expandVolume(d.opsOptions, rec, size.bytes, waitBudget(ctx, d)));
      return { capacityBytes: String(bytes), nodeExpansionRequired: rec.accessType === 'mount' };
    },
  };
}
