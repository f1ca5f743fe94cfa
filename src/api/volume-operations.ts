import { randomUUID } from 'node:crypto';
import { Failure, aborted, alreadyExists, retryLater } from '../domain/failure';
import { splitId } from '../domain/backend-id';
import { backingFilePath, nqnFor } from '../domain/ids';
import { NO_RECORD_GEN, jobId, type FenceAttachData } from '../queue/jobs';
import type { JobRunner } from '../queue/job-runner';
import type { AttachmentStore } from '../state/attachment-record';
import type { VolumeRecord, VolumeStore } from '../state/volume-record';
import type { CreateVolumeSpec } from './validate';

/**
 * The queue side of the volume RPCs (create, delete, publish, unpublish, expand): claim the record, run the jobs under deterministic ids, await
 * them until the caller's deadline. Everything here survives the controller dying at any point: the record and
 * the jobs are in Redis, and a retry on any controller continues where the last one stopped.
 */

export interface VolumeOperationsOptions {
  store: VolumeStore;
  attachments: AttachmentStore;
  runner: JobRunner;
  nqnPrefix: string;
}

/**
 * The RDS settings of the backend a volume goes to or lives on (issue 16: src/rds/backends.ts), from the caller that
 * resolved the backend from the id or placed the volume. The job data keep their shape: `volumeId` is the CSI id
 * (the worker finds the backend with backends.forId), `slot` the RouterOS slot.
 */
export interface BackendPlace {
  basePath: string;
  exportPort: number;
}

/** The RouterOS slot of a CSI id (the id itself on the primary, `<slot>` of `<slot>@<backend>` elsewhere). */
export function slotOf(id: string): string {
  return splitId(id)?.slot ?? id;
}

/** ControllerPublishVolume's request to the fence.attach processor (which keeps the rules, serialized per volume). */
export type PublishSpec = Pick<FenceAttachData, 'nodeId' | 'readonly' | 'sharing' | 'migrationWindowSeconds' | 'publishContext'>;

const beingDeleted = (name: string): Failure => aborted(`volume "${name}" is being deleted; retry after DeleteVolume completes`);

function pvcOf(record: VolumeRecord): { name: string; namespace: string } | undefined {
  return record.pvcName && record.pvcNamespace ? { name: record.pvcName, namespace: record.pvcNamespace } : undefined;
}

export class VolumeOperations {
  constructor(private readonly o: VolumeOperationsOptions) {}

  /** `copyFromSlot`: the RDS slot of the resolved content source (restore or clone). */
  async create(id: string, spec: CreateVolumeSpec, waitMs: number, place: BackendPlace, copyFromSlot?: string): Promise<VolumeRecord> {
    const deadline = Date.now() + waitMs;
    const slot = slotOf(id);
    const { record, created: claimed } = await this.o.store.claim({
      id,
      name: spec.name,
      capacityBytes: spec.sizeBytes,
      accessType: spec.accessType,
      paramsKey: spec.paramsKey,
      context: spec.context,
      state: 'creating',
      gen: randomUUID().slice(0, 8),
      slot,
      filePath: backingFilePath(place.basePath, slot),
      nqn: nqnFor(this.o.nqnPrefix, slot),
      createdAt: new Date().toISOString(),
      source: spec.source,
      pvcName: spec.pvcName,
      pvcNamespace: spec.pvcNamespace,
    });
    if (record.rebuilt) return this.adopt(record, spec, waitMs, place, copyFromSlot);
    if (record.name !== spec.name) {
      throw new Failure('internal', `volume id ${id} of "${spec.name}" is taken by "${record.name}" (id collision)`);
    }
    if (record.capacityBytes !== spec.sizeBytes || record.paramsKey !== spec.paramsKey) {
      throw alreadyExists(
        `volume "${spec.name}" exists with ${record.capacityBytes} bytes and parameters {${record.paramsKey}}; ` +
          `this request asks for ${spec.sizeBytes} bytes and {${spec.paramsKey}}`,
      );
    }
    if (record.state === 'ready') return record;
    if (record.state === 'deleting') throw beingDeleted(spec.name);

    const createId = jobId('disk.create', id, record.gen);
    const port = place.exportPort;
    try {
      // One job creates the disk already exported (issue 14; workers/processors/ensure-disk.ts). A generation
      // claimed by this call has no jobs yet: skip the look-up before the job add.
      const created = await this.o.runner.run(
        'disk.create',
        createId,
        {
          volumeId: id,
          slot: record.slot,
          filePath: record.filePath,
          sizeBytes: record.capacityBytes,
          copyFromSlot,
          nqn: record.nqn,
          port,
          pvc: pvcOf(record),
        },
        deadline - Date.now(),
        { newId: claimed },
      );
      if (!created.exported) {
        // Run by a worker from before the one-job create (a rolling upgrade): it made the disk without the export.
        const data = { volumeId: id, slot: record.slot, nqn: record.nqn, port };
        await this.o.runner.run('target.export', jobId('target.export', id, record.gen), data, deadline - Date.now(), { newId: claimed });
      }
      const ready: VolumeRecord = { ...record, state: 'ready', capacityBytes: created.sizeBytes };
      // Generation- and state-checked: a record removed (a finished DeleteVolume), of another generation (rebuilt
      // after Redis lost it) or marked deleting (a DeleteVolume of this id, waiting for this job's lease) while the
      // job ran is not this create's to make ready, and an OK would name a volume that is not, or soon not, there.
      if (await this.o.store.update(ready, 'creating')) return ready;
      return await this.afterLostWrite(record, spec.name, 'created');
    } catch (err) {
      if (err instanceof Failure && !retryLater(err)) {
        // This incarnation cannot succeed: drop its record so a corrected or later request claims a new generation
        // (and so new job ids). The failed job stays in the queue's failed set for the dashboard and `jobs list`.
        await this.o.store.remove(id, record.gen);
      }
      throw err;
    }
  }

  /**
   * A record rebuilt from RDS meets its CreateVolume: the disk's size must satisfy the request exactly as a new
   * volume would; then the request's name, parameters and access type become the record's.
   */
  private async adopt(
    record: VolumeRecord,
    spec: CreateVolumeSpec,
    waitMs: number,
    place: BackendPlace,
    copyFromSlot?: string,
  ): Promise<VolumeRecord> {
    if (record.capacityBytes !== spec.sizeBytes) {
      throw alreadyExists(`volume ${record.id} exists on RDS with ${record.capacityBytes} bytes; this request asks for ${spec.sizeBytes}`);
    }
    const adopted: VolumeRecord = {
      ...record,
      name: spec.name,
      paramsKey: spec.paramsKey,
      accessType: spec.accessType,
      context: spec.context,
      source: spec.source,
      pvcName: spec.pvcName,
      pvcNamespace: spec.pvcNamespace,
      rebuilt: false,
    };
    // State-checked too: a DeleteVolume may have marked the rebuilt record deleting since the claim read it.
    if (!(await this.o.store.update(adopted, record.state))) return this.afterLostWrite(record, spec.name, 'adopted from its rebuilt record');
    return adopted.state === 'ready' ? adopted : this.create(record.id, spec, waitMs, place, copyFromSlot);
  }

  /**
   * The answer when a create's write to its record did not apply: the same incarnation made ready by a concurrent
   * CreateVolume of the same name (which awaited the same job) is OK; marked deleting, ABORTED as for any create of
   * a volume being deleted; removed or replaced, ABORTED: the retry answers from the record as it is then.
   */
  private async afterLostWrite(record: VolumeRecord, name: string, doing: string): Promise<VolumeRecord> {
    const now = await this.o.store.get(record.id);
    if (now?.gen === record.gen && now.state === 'ready' && record.state === 'creating') return now;
    if (now?.gen === record.gen && now.state === 'deleting') throw beingDeleted(name);
    throw aborted(`volume "${name}" changed while it was being ${doing} (its record was removed or replaced); retry`);
  }

  async delete(id: string, waitMs: number, place: Pick<BackendPlace, 'basePath'>): Promise<void> {
    const record = await this.o.store.get(id);
    const slot = record?.slot ?? slotOf(id);
    const filePath = record?.filePath ?? backingFilePath(place.basePath, slot);
    const data = { volumeId: id, slot, filePath, gen: record?.gen ?? NO_RECORD_GEN };
    if (!record) {
      // No record (never created, already deleted, or Redis lost it): RDS decides; missing there = success.
      await this.o.runner.run('disk.delete', jobId('disk.delete', id, NO_RECORD_GEN), data, waitMs, { fresh: true });
      return;
    }
    if (record.state !== 'deleting') {
      // Generation-checked: a record removed or replaced since the read above (another DeleteVolume finished and a
      // CreateVolume of the name claimed the id again, or Redis lost it and reconcile.state rebuilt it from RDS) is
      // not the one read; its disk.delete would be refused (delete-guard.ts) and remove(id, gen) do nothing. ABORTED:
      // the CO retries, and the retry acts on the record as it is then.
      if (!(await this.o.store.update({ ...record, state: 'deleting' }))) {
        throw aborted(`volume "${record.name}" changed while it was being deleted (its record was removed or replaced); retry`);
      }
      // Jobs of the create that have not started must not run after the delete (target.export: an older
      // controller's, or the rolling-upgrade fallback above).
      await this.o.runner.forget(jobId('disk.create', id, record.gen));
      await this.o.runner.forget(jobId('target.export', id, record.gen));
    }
    await this.o.runner.run('disk.delete', jobId('disk.delete', id, record.gen), data, waitMs);
    await this.o.store.remove(id, record.gen);
  }

  async publish(record: VolumeRecord, p: PublishSpec, waitMs: number): Promise<Record<string, string>> {
    const data: FenceAttachData = { volumeId: record.id, slot: record.slot, ...p, pvc: pvcOf(record) };
    const res = await this.o.runner.run('fence.attach', jobId('fence.attach', record.id, p.nodeId), data, waitMs, { fresh: true });
    return res.publishContext;
  }

  /** `nodeId` empty: unpublish from every node (CSI). Nothing published there → nothing to do. */
  async unpublish(volumeId: string, nodeId: string, waitMs: number): Promise<void> {
    const att = await this.o.attachments.get(volumeId);
    const nodes = nodeId ? [nodeId] : Object.keys(att?.nodes ?? {});
    for (const node of nodes) {
      if (!att?.nodes[node]) continue;
      const data = { volumeId, nodeId: node, slot: slotOf(volumeId), reason: 'unpublish' as const };
      await this.o.runner.run('fence.detach', jobId('fence.detach', volumeId, node), data, waitMs, { fresh: true });
    }
  }

  /** ControllerExpandVolume's queue side: grow on RDS, then remember the size RDS reports. */
  async expand(record: VolumeRecord, bytes: number, waitMs: number): Promise<number> {
    if (record.capacityBytes >= bytes) return record.capacityBytes;
    const res = await this.o.runner.run(
      'disk.expand',
      jobId('disk.expand', record.id, `${record.gen}-${bytes}`),
      { volumeId: record.id, slot: record.slot, sizeBytes: bytes, pvc: pvcOf(record) },
      waitMs,
    );
    const current = await this.o.store.get(record.id);
    // State-checked: a DeleteVolume's "deleting" written since the read stays (the size of a deleted disk is moot).
    if (current && current.gen === record.gen && current.capacityBytes < res.sizeBytes)
      await this.o.store.update({ ...current, capacityBytes: res.sizeBytes }, current.state);
    return res.sizeBytes;
  }
}
