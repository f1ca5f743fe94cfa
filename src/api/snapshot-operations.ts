/**
 * The queue side of CreateSnapshot and DeleteSnapshot. A snapshot is a `copy-from` disk of the source that is
 * never exported; it is ready_to_use only when the copy job completed. While the copy runs, CreateSnapshot
 * answers ready_to_use=false and the snapshotter asks again.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { splitId } from '../domain/backend-id';
import { ENCRYPTION_PARAM } from '../domain/encryption';
import { Failure, aborted, alreadyExists, retryLater } from '../domain/failure';
import type { JobRunner } from '../queue/job-runner';
import { NO_RECORD_GEN, jobId } from '../queue/jobs';
import type { SnapshotRecord, SnapshotStore } from '../state/snapshot-record';
import type { VolumeRecord } from '../state/volume-record';

export interface SnapshotOperationsOptions {
  store: SnapshotStore;
  runner: JobRunner;
}

const beingDeleted = (name: string): Failure => aborted(`snapshot "${name}" is being deleted; retry after DeleteSnapshot completes`);

function slotOfSnapshot(id: string): string {
  return splitId(id)?.slot ?? id;
}

export class SnapshotOperations {
  constructor(private readonly o: SnapshotOperationsOptions) {}

  /** `id`: the snapshot's CSI id, on its source's backend (`<slot>@<backend>` off the primary). */
  async create(id: string, name: string, source: VolumeRecord, dir: string, waitMs: number): Promise<SnapshotRecord> {
    const slot = slotOfSnapshot(id);
    const { record } = await this.o.store.claim({
      id,
      name,
      sourceVolumeId: source.id,
      sizeBytes: source.capacityBytes,
      state: 'creating',
      gen: randomUUID().slice(0, 8),
      slot,
      filePath: path.posix.join(dir, `${slot}.img`),
      createdAt: new Date().toISOString(),
      ...(source.context[ENCRYPTION_PARAM] ? { encryption: source.context[ENCRYPTION_PARAM] } : {}),
    });
    if (record.sourceVolumeId !== source.id) {
      throw alreadyExists(`snapshot "${name}" exists for volume ${record.sourceVolumeId}, not ${source.id}`);
    }
    if (record.state === 'ready') return record;
    if (record.state === 'deleting') throw beingDeleted(name);
    const createId = jobId('snapshot.create', id, record.gen);
    let ready: SnapshotRecord;
    try {
      const res = await this.o.runner.run(
        'snapshot.create',
        createId,
        { volumeId: source.id, snapshotId: id, slot: record.slot, filePath: record.filePath, sourceSlot: source.slot },
        waitMs,
      );
      ready = { ...record, state: 'ready', sizeBytes: res.sizeBytes };
    } catch (err) {
      if (err instanceof Failure && err.kind === 'aborted') return record; // copy still running: not ready yet
      if (err instanceof Failure && !retryLater(err)) {
        await this.o.store.remove(id, record.gen); // the failed job stays visible in the queue's failed set
      }
      throw err;
    }
    // Generation- and state-checked, as for volumes (volume-operations.ts): a record removed, replaced or marked
    // deleting (a DeleteSnapshot waiting for the snapshot's lease this job held) is not this call's to make ready.
    if (await this.o.store.update(ready, 'creating')) return ready;
    const now = await this.o.store.get(id);
    if (now?.gen === record.gen && now.state === 'ready') return now; // a concurrent CreateSnapshot of this name
    if (now?.gen === record.gen && now.state === 'deleting') throw beingDeleted(name);
    throw aborted(`snapshot "${name}" changed while it was being created (its record was removed or replaced); retry`);
  }

  async delete(id: string, waitMs: number): Promise<void> {
    const record = await this.o.store.get(id);
    if (!record) {
      await this.o.runner.run(
        'snapshot.delete',
        jobId('snapshot.delete', id, NO_RECORD_GEN),
        { volumeId: id, slot: slotOfSnapshot(id), gen: NO_RECORD_GEN },
        waitMs,
        { fresh: true },
      );
      return;
    }
    if (record.state !== 'deleting') {
      // Generation-checked, as for volumes (volume-operations.ts delete): removed or replaced since the read, ABORTED.
      if (!(await this.o.store.update({ ...record, state: 'deleting' }))) {
        throw aborted(`snapshot "${record.name}" changed while it was being deleted (its record was removed or replaced); retry`);
      }
      await this.o.runner.forget(jobId('snapshot.create', id, record.gen));
    }
    await this.o.runner.run(
      'snapshot.delete',
      jobId('snapshot.delete', id, record.gen),
      { volumeId: id, slot: record.slot, filePath: record.filePath, gen: record.gen },
      waitMs,
    );
    await this.o.store.remove(id, record.gen);
  }
}
