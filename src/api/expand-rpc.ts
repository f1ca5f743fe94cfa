import type { ControllerHandlers } from '../generated/csi/v1/Controller';
import { invalid, outOfRange } from '../domain/failure';
import { decideSize } from '../domain/sizes';
import type { ServiceImpl } from '../grpc/service';
import type { ControllerDeps } from './controller-deps';
import { readyVolume } from './ready-volume';
import { capabilityProblem, decidedBytes, int64 } from './validate';
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
      const rec = await readyVolume(d, req.volumeId);
      const required = int64(req.capacityRange.requiredBytes, 'capacity_range.required_bytes');
      const limit = int64(req.capacityRange.limitBytes, 'capacity_range.limit_bytes');
      if (limit > 0 && limit < rec.capacityBytes) {
        throw outOfRange(`limit_bytes ${limit} is below the current size ${rec.capacityBytes}; volumes never shrink`);
      }
      const bytes = decidedBytes(decideSize(required, limit, { ...d.limits, defaultBytes: rec.capacityBytes }));
      const grown = await d.ops.expand(rec, bytes, waitBudget(ctx, d));
      return { capacityBytes: String(grown), nodeExpansionRequired: rec.accessType === 'mount' };
    },
  };
}
