/**
 * CreateSnapshot / DeleteSnapshot / ListSnapshots. VolumeSnapshotClass parameter `snapshotPath` chooses where the
 * snapshot files live; it must be under the driver's base path (by path components).
 */
import path from 'node:path';
import type { ControllerHandlers } from '../generated/csi/v1/Controller';
import { invalid, notFound } from '../domain/failure';
import { placedId, splitId } from '../domain/backend-id';
import { isUnder, snapshotIdFromName } from '../domain/ids';
import type { Backend } from '../rds/backends';
import type { ServiceImpl } from '../grpc/service';
import { locate, unconfiguredBackend } from './backend-of';
import type { ControllerDeps } from './controller-deps';
import { encodeToken, pageLimit, pageStart } from './page-token';
import { findReadyVolume } from './ready-volume';
import { toCsiSnapshot } from './snapshot-view';
import { validateName } from './validate';
import { waitBudget } from './wait-budget';

/**
 * CreateSnapshot / DeleteSnapshot / ListSnapshots. VolumeSnapshotClass parameter `snapshotPath` chooses where the
 * snapshot files live; it must be under the driver's base path (by path components).
 */
function snapshotDir(params: Record<string, string>, basePath: string): string {
  const known = new Set(['snapshotPath']);
  for (const key of Object.keys(params)) {
    if (!known.has(key) && !key.startsWith('csi.storage.k8s.io/')) {
      throw invalid(`unknown VolumeSnapshotClass parameter "${key}"; supported: snapshotPath`);
    }
  }
  const dir = params.snapshotPath ?? path.posix.join(basePath, 'snapshots');
  if (!isUnder(basePath, dir) || path.posix.normalize(dir) !== dir.replace(/\/+$/, '')) {
    throw invalid(`parameter snapshotPath="${dir}" must be a normalized path under the base path ${basePath}`);
  }
  return dir.replace(/\/+$/, '');
}

export function snapshotHandlers(d: ControllerDeps): ServiceImpl<ControllerHandlers> {
  return {
    CreateSnapshot: async (req, ctx) => {
      validateName(req.name);
      if (!req.sourceVolumeId) throw invalid('source_volume_id is required');
      // A snapshot lives on its source volume's backend (issue 16): its id carries that backend as the source's does,
      // and its file is under that backend's base path.
      const at = locate(d.backends, req.sourceVolumeId, 'volume', d.volumePrefix);
      if (at.kind === 'unconfigured') throw unconfiguredBackend('source volume', req.sourceVolumeId, at.name, d.backends);
      const backend: Backend = at.kind === 'ours' ? at.backend : d.backends.primary;
      const dir = snapshotDir(req.parameters ?? {}, backend.config.rds.basePath);
      const id = placedId(snapshotIdFromName(req.name, d.volumePrefix), splitId(req.sourceVolumeId)?.backend, d.backends.primary.name);
      const source = await findReadyVolume(d, req.sourceVolumeId, 'source volume');
      if (!source) {
        // The snapshot may already exist and its source be gone since: answer from the record.
        const existing = await d.snapshots.get(id);
        if (existing && existing.sourceVolumeId === req.sourceVolumeId) return { snapshot: toCsiSnapshot(existing) };
        throw notFound(`source volume ${req.sourceVolumeId} does not exist`);
      }
      const rec = await d.snapOps.create(id, req.name, source, dir, waitBudget(ctx, d));
      return { snapshot: toCsiSnapshot(rec) };
    },

    DeleteSnapshot: async (req, ctx) => {
      if (!req.snapshotId) throw invalid('snapshot_id is required');
      const at = locate(d.backends, req.snapshotId, 'snapshot', d.volumePrefix);
      if (at.kind === 'not-ours') return {}; // not one of ours: nothing to delete
      if (at.kind === 'unconfigured') throw unconfiguredBackend('snapshot', req.snapshotId, at.name, d.backends);
      await d.snapOps.delete(req.snapshotId, waitBudget(ctx, d));
      return {};
    },

    ListSnapshots: async (req) => {
      const limit = pageLimit(req.maxEntries);
      if (req.snapshotId) {
        const ours = locate(d.backends, req.snapshotId, 'snapshot', d.volumePrefix).kind !== 'not-ours';
        const rec = ours ? await d.snapshots.get(req.snapshotId) : undefined;
        const match = rec && rec.state !== 'deleting' && (!req.sourceVolumeId || rec.sourceVolumeId === req.sourceVolumeId);
        return { entries: match ? [{ snapshot: toCsiSnapshot(rec) }] : [], nextToken: '' };
      }
      let after = pageStart(req.startingToken);
      const entries = [];
      let next: string | undefined;
      // Filtering by source may leave a page short: keep reading until it is full or the records end.
      for (;;) {
        const page = await d.snapshots.page(after, limit - entries.length);
        for (const r of page.records) {
          if (r.state !== 'deleting' && (!req.sourceVolumeId || r.sourceVolumeId === req.sourceVolumeId))
            entries.push({ snapshot: toCsiSnapshot(r) });
        }
        next = page.next;
        after = page.records.at(-1)?.id ?? after;
        if (!next || entries.length >= limit) break;
      }
      return { entries, nextToken: next ? encodeToken(after ?? next) : '' };
    },
  };
}
