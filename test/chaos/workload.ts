import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { CsiGrpcClient } from '../../src/grpc/client';
import { MOUNT_RWO } from '../support/csi-client';
import { NODES, PRIMARY_BACKEND } from './cluster';

/**
 * The sidecars' side of the storm: lanes that each drive one volume at a time through
 * create → ControllerPublish → ControllerUnpublish → (some) snapshot (+ delete), expand, delete, retrying every call
 * the way external-provisioner / -attacher / -snapshotter / -resizer do: the same request again on ABORTED,
 * UNAVAILABLE, DEADLINE_EXCEEDED and connection errors, alternating controllers. Any other answer is final.
 * The ledger records what the driver said, for the audit.
 */

const MiB = 1024 * 1024;
/**
 * gRPC codes after which a sidecar treats the operation as possibly still in progress and repeats the same request
 * (connection errors reach grpc-js callers as UNAVAILABLE): isFinalError() in kubernetes-csi/external-provisioner
 * pkg/controller/controller.go (and its copies in external-attacher pkg/connection and external-snapshotter
 * pkg/sidecar-controller): Canceled, DeadlineExceeded, Unavailable, ResourceExhausted, Aborted are not final.
 */
const RETRY = new Set<number>([
  grpc.status.ABORTED,
  grpc.status.UNAVAILABLE,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.CANCELLED,
  grpc.status.RESOURCE_EXHAUSTED,
]);

export interface VolumeEntry {
  name: string;
  /** The backend its lane asks for (StorageClass parameter `backend`); undefined = none named, the primary. */
  backend?: string;
  volumeId?: string;
  /** created: CreateVolume answered OK; failed: it answered a final error; deleted: DeleteVolume answered OK. */
  state: 'creating' | 'created' | 'failed' | 'deleted' | 'unanswered';
  sizeBytes?: number;
  /** An expand without a final answer: the disk may have either size. */
  sizeMaybe?: number;
  /** A DeleteVolume without a final answer: the disk may or may not be there. */
  deleteUnanswered?: boolean;
  snapshots: Array<{ name: string; snapshotId?: string; state: 'creating' | 'created' | 'failed' | 'deleted' | 'unanswered'; sizeBytes?: number }>;
}

export interface OpStat {
  ok: number;
  finalErrors: Record<string, number>;
  unanswered: number;
  attempts: number;
  maxMs: number;
}

/** One CreateVolume, first attempt to final answer. */
export interface CreateSample {
  /** The backend the lane asked for (undefined = the primary). */
  backend?: string;
  /** When the first attempt started (epoch ms). */
  startedAt: number;
  ms: number;
  /** ok, a gRPC code name (final error) or `unanswered`. */
  outcome: string;
}

export interface WorkloadOptions {
  endpoints: string[];
  lanes: number;
  /**
   * The backend each lane's volumes ask for, by lane index modulo the list's length (undefined = no `backend`
   * parameter: the primary, today's StorageClass). Unset: every lane uses the primary.
   */
  laneBackends?: Array<string | undefined>;
  /** Most volume lifecycles to start (0 = no limit). */
  maxVolumes: number;
  callTimeoutMs: number;
  /** An operation that has no final answer after this long is given up as unanswered. */
  opGiveUpMs: number;
}

export class Workload {
  readonly volumes: VolumeEntry[] = [];
  readonly ops: Record<string, OpStat> = {};
  /** The same counts per backend the lane asked for (the primary as `default`): `opsByBackend[backend][method]`. */
  readonly opsByBackend: Record<string, Record<string, OpStat>> = {};
  readonly creates: CreateSample[] = [];
  /** Operations waiting for a final answer right now. */
  inFlight = 0;
  private readonly clients: CsiGrpcClient[];
  private rr = 0;
  private stopping = false;
  private lanes: Array<Promise<void>> = [];

  constructor(private readonly o: WorkloadOptions) {
    this.clients = o.endpoints.map((e) => new CsiGrpcClient(e));
  }

  start(): void {
    this.lanes = Array.from({ length: this.o.lanes }, (_, i) => this.lane(i));
  }

  /** No new steps: every lane finishes the operation it is in (to its final answer) and stops. */
  async finish(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.lanes);
  }

  close(): void {
    for (const c of this.clients) c.close();
  }

  get totalOps(): number {
    return Object.values(this.ops).reduce((n, s) => n + s.ok + s.unanswered + Object.values(s.finalErrors).reduce((a, b) => a + b, 0), 0);
  }

  private stat(method: string, backend?: string): OpStat {
    const fresh = (): OpStat => ({ ok: 0, finalErrors: {}, unanswered: 0, attempts: 0, maxMs: 0 });
    if (backend !== undefined) return ((this.opsByBackend[backend] ??= {})[method] ??= fresh());
    return (this.ops[method] ??= fresh());
  }

  /**
   * One operation to its final answer: the same request again on a retryable code, each attempt on the next
   * controller, with a short backoff (the sidecars' exponential backoff, capped low to keep the storm busy).
   */
  async call<T>(
    method: string,
    req: object,
    done?: (res: T) => boolean,
    backend = PRIMARY_BACKEND,
  ): Promise<{ ok: true; res: T } | { ok: false; code: string }> {
    const stats = [this.stat(method), this.stat(method, backend)];
    const t0 = Date.now();
    this.inFlight++;
    let delay = 100;
    let outcome = 'unanswered';
    try {
      for (;;) {
        for (const s of stats) s.attempts++;
        const client = this.clients[this.rr++ % this.clients.length];
        try {
          const res = await client.call<T>('Controller', method, req, this.o.callTimeoutMs);
          // CreateSnapshot answers OK with ready_to_use=false while the copy runs: the snapshotter asks again.
          if (!done || done(res)) {
            for (const s of stats) s.ok++;
            outcome = 'ok';
            return { ok: true, res };
          }
        } catch (err) {
          const code = (err as Partial<grpc.ServiceError>).code;
          if (typeof code !== 'number' || !RETRY.has(code)) {
            const name = typeof code === 'number' ? (grpc.status[code] ?? String(code)) : `non-grpc: ${(err as Error).message}`;
            for (const s of stats) s.finalErrors[name] = (s.finalErrors[name] ?? 0) + 1;
            outcome = name;
            return { ok: false, code: name };
          }
        }
        if (Date.now() - t0 > this.o.opGiveUpMs) {
          for (const s of stats) s.unanswered++;
          return { ok: false, code: 'unanswered' };
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 2000);
      }
    } finally {
      this.inFlight--;
      const ms = Date.now() - t0;
      for (const s of stats) s.maxMs = Math.max(s.maxMs, ms);
      if (method === 'CreateVolume') this.creates.push({ backend: backend === PRIMARY_BACKEND ? undefined : backend, startedAt: t0, ms, outcome });
    }
  }

  private async lane(i: number): Promise<void> {
    while (!this.stopping && (this.o.maxVolumes === 0 || this.volumes.length < this.o.maxVolumes)) {
      await this.lifecycle(i);
    }
  }

  private async lifecycle(lane: number): Promise<void> {
    const backend = this.o.laneBackends?.length ? this.o.laneBackends[lane % this.o.laneBackends.length] : undefined;
    const v: VolumeEntry = { name: `pvc-${randomUUID()}`, backend, state: 'creating', snapshots: [] };
    this.volumes.push(v);
    const size = (1 + Math.floor(Math.random() * 16)) * MiB;
    const b = backend ?? PRIMARY_BACKEND;
    const created = await this.call<{ volume: { volumeId: string; capacityBytes: string } }>(
      'CreateVolume',
      {
        name: v.name,
        capacityRange: { requiredBytes: String(size) },
        volumeCapabilities: [MOUNT_RWO],
        // The StorageClass parameter of issue 16 (`backend: <name>`); none = the primary only, as before.
        parameters: backend === undefined ? {} : { backend },
      },
      undefined,
      b,
    );
    if (!created.ok) {
      v.state = created.code === 'unanswered' ? 'unanswered' : 'failed';
      return;
    }
    v.state = 'created';
    v.volumeId = created.res.volume.volumeId;
    v.sizeBytes = Number(created.res.volume.capacityBytes);
    const id = v.volumeId;
    if (this.stopping) return;
    // Lanes alternate backends first, then nodes: each backend's volumes are published to every node.
    const node = NODES[Math.floor(lane / Math.max(1, this.o.laneBackends?.length ?? 1)) % NODES.length];
    await this.call('ControllerPublishVolume', { volumeId: id, nodeId: node, volumeCapability: MOUNT_RWO, readonly: false }, undefined, b);
    if (this.stopping) return;
    await this.call('ControllerUnpublishVolume', { volumeId: id, nodeId: node }, undefined, b);
    if (this.stopping) return;
    if (Math.random() < 0.4) {
      const snap: VolumeEntry['snapshots'][number] = { name: `snapshot-${randomUUID()}`, state: 'creating' };
      v.snapshots.push(snap);
      const r = await this.call<{ snapshot: { snapshotId: string; readyToUse: boolean; sizeBytes: string } }>(
        'CreateSnapshot',
        { name: snap.name, sourceVolumeId: id },
        (res) => res.snapshot.readyToUse,
        b,
      );
      if (r.ok) {
        snap.state = 'created';
        snap.snapshotId = r.res.snapshot.snapshotId;
        snap.sizeBytes = Number(r.res.snapshot.sizeBytes);
        if (!this.stopping && Math.random() < 0.5) {
          const d = await this.call('DeleteSnapshot', { snapshotId: snap.snapshotId }, undefined, b);
          if (d.ok) snap.state = 'deleted';
        }
      } else snap.state = r.code === 'unanswered' ? 'unanswered' : 'failed';
      if (this.stopping) return;
    }
    if (Math.random() < 0.4) {
      const want = (v.sizeBytes ?? size) + (1 + Math.floor(Math.random() * 8)) * MiB;
      const r = await this.call<{ capacityBytes: string }>(
        'ControllerExpandVolume',
        { volumeId: id, capacityRange: { requiredBytes: String(want) } },
        undefined,
        b,
      );
      if (r.ok) v.sizeBytes = Number(r.res.capacityBytes);
      else if (r.code === 'unanswered') v.sizeMaybe = want;
      if (this.stopping) return;
    }
    // A volume with a live snapshot is kept (the snapshot's source stays), as are about half of the others.
    if (v.snapshots.some((s) => s.state === 'created') || Math.random() < 0.5) return;
    const d = await this.call('DeleteVolume', { volumeId: id }, undefined, b);
    if (d.ok) v.state = 'deleted';
    else if (d.code === 'unanswered') v.deleteUnanswered = true;
  }
}
