import { existsSync } from 'node:fs';
import path from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { MOUNT_RWO } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { decodeJobFailure, isLegacyFailure } from '../../src/queue/failure-codec';
import { STATUS_OF_KIND, codeName } from '../../src/grpc/errors';
import { redisConnection, redisTargetFromConfig } from '../../src/queue/connection';
import { driverState } from '../../src/state/stores';
import type { VolumeStore } from '../../src/state/volume-record';

/**
 * A destructive job put on the queue by anyone but the driver's own DeleteVolume/DeleteSnapshot (the dashboard's
 * "add", a script with queue access) deletes nothing: the worker checks the job's generation against the record as
 * it is now and refuses, FAILED_PRECONDITION, while the volume has a live record or an attachment (issue 18 item 3).
 * Real controller + in-process worker, private redis-server, RouterOS simulator over TCP; the forged jobs go in
 * through bullmq's Queue.add exactly as bull-board's add route does.
 */
const MiB = 1024 * 1024;

describe('forged disk.delete / snapshot.delete jobs', () => {
  let h: Harness;
  let queue: Queue;
  let events: QueueEvents;
  let volumes: VolumeStore;
  const conns: { disconnect(): void }[] = [];
  const fileOf = (id: string): string => path.join(h.sim.dataDir, 'pool/rds-csi', `${id}.img`);

  /**
   * Adds a job as the dashboard would and waits for it to end; returns how it failed ('' when it completed), as
   * `[CODE] message`: the failure its worker recorded (queue/failure-codec.ts) with the gRPC code a caller gets.
   */
  async function forge(name: string, data: Record<string, unknown>): Promise<{ reason: string; attempts: number }> {
    const job = await queue.add(name, data);
    try {
      await job.waitUntilFinished(events, 20000);
    } catch {
      /* a failure is read from the job below */
    }
    const done = await queue.getJob(job.id!);
    const raw = done?.failedReason ?? '';
    const f = decodeJobFailure(raw);
    const reason = f && !isLegacyFailure(f) ? `[${codeName(STATUS_OF_KIND[f.kind])}] ${f.message}` : raw;
    return { reason, attempts: done?.attemptsMade ?? -1 };
  }

  beforeAll(async () => {
    h = await startHarness({ overrides: { nodes: 'n1,n2', 'kubernetes.mode': 'off' } });
    const fast = redisConnection(redisTargetFromConfig(h.cfg), 'fast');
    const blocking = redisConnection(redisTargetFromConfig(h.cfg), 'blocking');
    conns.push(fast, blocking);
    queue = new Queue(VOLUME_QUEUE, { connection: fast, prefix: h.cfg.queuePrefix });
    events = new QueueEvents(VOLUME_QUEUE, { connection: blocking, prefix: h.cfg.queuePrefix });
    await events.waitUntilReady();
    volumes = driverState(fast, h.cfg.queuePrefix).volumes;
  });
  afterAll(async () => {
    await events?.close();
    await queue?.close();
    for (const c of conns) c.disconnect();
    await h?.stop();
  });

  it('a published volume survives every forged delete; the real DeleteVolume still deletes it', async () => {
    const vol = (
      await h.client.ctl(
        'CreateVolume',
        { name: 'forged-delete', capacityRange: { requiredBytes: String(4 * MiB) }, volumeCapabilities: [MOUNT_RWO] },
        20000,
      )
    ).volume.volumeId as string;
    await h.client.ctl('ControllerPublishVolume', { volumeId: vol, nodeId: 'n1', volumeCapability: MOUNT_RWO }, 20000);
    const record = (await volumes.get(vol))!;
    expect(record.state).toBe('ready');
    const file = fileOf(vol);
    expect(existsSync(file)).toBe(true);

    const base = { volumeId: vol, slot: vol, filePath: record.filePath };
    const forged: [string, string, Record<string, unknown>, RegExp][] = [
      ['no generation (what the dashboard add sends)', 'disk.delete', base, /carries no generation/],
      ['the record generation, record not deleting', 'disk.delete', { ...base, gen: record.gen }, /is 'ready', not 'deleting'/],
      ['a made-up generation', 'disk.delete', { ...base, gen: 'deadbeef' }, /is not the record's/],
      ['the no-record marker while a record exists', 'disk.delete', { ...base, gen: 'adhoc' }, /is not the record's/],
      [
        'another id aimed at this slot and file',
        'disk.delete',
        { volumeId: 'pvc-nothing-here', slot: vol, filePath: record.filePath, gen: 'adhoc' },
        /only the id's own slot/,
      ],
      [
        'another id aimed at this file only',
        'disk.delete',
        { volumeId: 'pvc-nothing-here', slot: 'pvc-nothing-here', filePath: record.filePath, gen: 'adhoc' },
        /own backing file/,
      ],
      ['snapshot.delete of the volume', 'snapshot.delete', { ...base, gen: 'adhoc' }, /belongs to the record of/],
    ];
    for (const [what, name, data, why] of forged) {
      const res = await forge(name, data);
      expect([what, res.reason]).toEqual([what, expect.stringMatching(/^\[FAILED_PRECONDITION\] refusing to delete/)]);
      expect([what, res.reason]).toEqual([what, expect.stringMatching(why)]);
      expect([what, res.attempts]).toEqual([what, 1]);
      expect([what, h.sim.disks().some((d) => d.slot === vol), existsSync(file)]).toEqual([what, true, true]);
    }

    // Even the record's own generation in state 'deleting' is refused while a node is attached.
    await volumes.update({ ...record, state: 'deleting' });
    const attached = await forge('disk.delete', { ...base, gen: record.gen });
    expect(attached.reason).toMatch(/^\[FAILED_PRECONDITION\] .*attached to n1/);
    expect([h.sim.disks().some((d) => d.slot === vol), existsSync(file)]).toEqual([true, true]);
    await volumes.update({ ...record, state: 'ready' });

    await h.client.ctl('ControllerUnpublishVolume', { volumeId: vol, nodeId: 'n1' }, 20000);
    await h.client.ctl('DeleteVolume', { volumeId: vol }, 20000);
    expect(h.sim.disks().some((d) => d.slot === vol)).toBe(false);
    expect(existsSync(file)).toBe(false);
    expect(await volumes.get(vol)).toBeUndefined();
    // A volume that has no record: DeleteVolume still answers OK (missing = success).
    await h.client.ctl('DeleteVolume', { volumeId: vol }, 20000);
  });

  it('a stale job of a deleted incarnation does not delete the new volume of the same name', async () => {
    const create = async (): Promise<string> =>
      (
        await h.client.ctl(
          'CreateVolume',
          { name: 'forged-reuse', capacityRange: { requiredBytes: String(4 * MiB) }, volumeCapabilities: [MOUNT_RWO] },
          20000,
        )
      ).volume.volumeId as string;
    const vol = await create();
    const oldGen = (await volumes.get(vol))!.gen;
    await h.client.ctl('DeleteVolume', { volumeId: vol }, 20000);
    expect(await create()).toBe(vol);
    const stale = await forge('disk.delete', { volumeId: vol, slot: vol, filePath: (await volumes.get(vol))!.filePath, gen: oldGen });
    expect(stale.reason).toMatch(/^\[FAILED_PRECONDITION\] .*generation/);
    expect([h.sim.disks().some((d) => d.slot === vol), existsSync(fileOf(vol))]).toEqual([true, true]);
    await h.client.ctl('DeleteVolume', { volumeId: vol }, 20000);
    expect(existsSync(fileOf(vol))).toBe(false);
  });

  it('DeleteSnapshot still deletes the snapshot; a forged snapshot.delete of it before that does not', async () => {
    const vol = (
      await h.client.ctl(
        'CreateVolume',
        { name: 'forged-snap-src', capacityRange: { requiredBytes: String(4 * MiB) }, volumeCapabilities: [MOUNT_RWO] },
        20000,
      )
    ).volume.volumeId as string;
    const snap = (await h.client.ctl('CreateSnapshot', { name: 'forged-snap', sourceVolumeId: vol }, 20000)).snapshot.snapshotId as string;
    expect(h.sim.disks().some((d) => d.slot === snap)).toBe(true);
    const res = await forge('snapshot.delete', { volumeId: snap, slot: snap });
    expect(res.reason).toMatch(/^\[FAILED_PRECONDITION\] .*no generation/);
    expect(h.sim.disks().some((d) => d.slot === snap)).toBe(true);
    await h.client.ctl('DeleteSnapshot', { snapshotId: snap }, 20000);
    expect(h.sim.disks().some((d) => d.slot === snap)).toBe(false);
    await h.client.ctl('DeleteVolume', { volumeId: vol }, 20000);
  });
});
