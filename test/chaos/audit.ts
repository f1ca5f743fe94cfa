import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { splitId } from '../../src/domain/backend-id';
import { VOLUME_QUEUE } from '../../src/queue/jobs';
import { STATE_FILE, type SimState } from '../../src/simulator/model/state';
import { untilReachable, type SimAdmin } from './sim-admin';
import type { VolumeEntry } from './workload';

/**
 * The end of the storm, read from the simulator itself, never through the driver: its persisted state
 * (`<dataDir>/.simulator-state.json`), the backing files in its data dir, and `/disk print` over the wire (the two
 * must agree); and the BullMQ queue in Redis for jobs that never finished.
 */

export interface AuditResult {
  /** Created (and not deleted) volumes or snapshots with no disk or no file. */
  lost: string[];
  /** Disks or files no volume or snapshot owns, or left behind by a delete or a failed create. */
  leaked: string[];
  /** A slot or a file with more than one disk. */
  duplicated: string[];
  /** Disk size ≠ the size the driver returned; backing file size ≠ the disk's. */
  wrongSize: string[];
  /** A volume disk without its NVMe/TCP export, or a snapshot disk exported. */
  wrongExport: string[];
  /** The state file and `/disk print` disagree. */
  wireMismatch: string[];
  /**
   * On the wrong backend (issue 16): an id that names another backend than the one its StorageClass asked for, a
   * snapshot on another backend than its source, or a disk on this simulator whose id names another backend.
   */
  misplaced: string[];
  /** Volumes/snapshots whose outcome the client never learned (either state is accepted for them). */
  unresolved: number;
  disks: number;
  files: number;
}

export interface QueueCounts {
  counts: Record<string, number>;
  /** Jobs still waiting/active/delayed that are not the schedulers' next runs. */
  stuck: Array<{ id: string; name: string; state: string; attemptsMade: number }>;
  failedByName: Record<string, number>;
}

function filesUnder(root: string, rel = ''): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(path.join(root, rel));
  } catch {
    return out;
  }
  for (const e of entries) {
    const r = rel ? `${rel}/${e}` : e;
    if (statSync(path.join(root, r)).isDirectory()) out.push(...filesUnder(root, r));
    else out.push(r);
  }
  return out;
}

/** Which simulator is audited: its backend's name, and the primary's (whose ids are the bare slot). */
export interface AuditScope {
  backend: string;
  primary: string;
}

const SINGLE: AuditScope = { backend: 'default', primary: 'default' };

interface Expect {
  kind: 'volume' | 'snapshot';
  /** The CSI id (`<slot>` on the primary, `<slot>@<backend>` elsewhere). */
  id: string;
  slot: string;
  /** present: must exist; absent: must not; either: outcome unknown to the client. */
  want: 'present' | 'absent' | 'either';
  sizes: number[];
}

interface Expectations {
  /** This backend's volumes and snapshots by slot. */
  bySlot: Map<string, Expect>;
  /** Slots whose ids name another backend: id by slot. */
  elsewhere: Map<string, string>;
  misplaced: string[];
  unresolved: number;
}

function expectations(volumes: VolumeEntry[], scope: AuditScope): Expectations {
  const x: Expectations = { bySlot: new Map(), elsewhere: new Map(), misplaced: [], unresolved: 0 };
  /** Slot and backend of an id; a malformed mark is misplaced (the driver never makes one). */
  const place = (kind: string, id: string): { slot: string; backend: string } | undefined => {
    const p = splitId(id);
    if (!p) x.misplaced.push(`${kind} ${id}: malformed backend mark`);
    return p && { slot: p.slot, backend: p.backend ?? scope.primary };
  };
  for (const v of volumes) {
    const asked = v.backend ?? scope.primary;
    const vp = v.volumeId === undefined ? undefined : place('volume', v.volumeId);
    // Each id is checked against its lane's backend once: in the audit of the backend the lane asked for.
    if (vp && v.volumeId && asked === scope.backend && vp.backend !== asked)
      x.misplaced.push(`volume ${v.volumeId}: its StorageClass asked for backend ${asked}`);
    if (vp && v.volumeId && vp.backend !== scope.backend) x.elsewhere.set(vp.slot, v.volumeId);
    else if (vp && v.volumeId) {
      const want = v.state === 'deleted' ? 'absent' : v.deleteUnanswered ? 'either' : 'present';
      const sizes = [v.sizeBytes ?? 0, ...(v.sizeMaybe ? [v.sizeMaybe] : [])];
      x.bySlot.set(vp.slot, { kind: 'volume', id: v.volumeId, slot: vp.slot, want, sizes });
      if (want === 'either') x.unresolved++;
    } else if (v.state === 'unanswered' && asked === scope.backend) x.unresolved++;
    for (const s of v.snapshots) {
      if (!s.snapshotId) {
        if (s.state === 'unanswered' && asked === scope.backend) x.unresolved++;
        continue;
      }
      const sp = place('snapshot', s.snapshotId);
      if (!sp) continue;
      if (vp && vp.backend === scope.backend && sp.backend !== vp.backend)
        x.misplaced.push(`snapshot ${s.snapshotId}: its source ${v.volumeId ?? '?'} is on backend ${vp.backend}`);
      if (sp.backend !== scope.backend) {
        x.elsewhere.set(sp.slot, s.snapshotId);
        continue;
      }
      const want = s.state === 'deleted' ? 'absent' : 'present';
      x.bySlot.set(sp.slot, { kind: 'snapshot', id: s.snapshotId, slot: sp.slot, want, sizes: [s.sizeBytes ?? 0] });
    }
  }
  return x;
}

/** Whether a slot could belong to an operation whose answer the client never got (its id is not known). */
function unresolvedOwner(volumes: VolumeEntry[], scope: AuditScope): Set<string> {
  // Volume slots of `pvc-<uuid>` names are the name itself (docs/ARCHITECTURE.md#identity); snapshot ids are derived,
  // so an unanswered CreateSnapshot leaves a snapshot slot the audit cannot attribute: those are reported as leaked
  // only if no unanswered snapshot exists.
  return new Set(volumes.filter((v) => v.state === 'unanswered' && (v.backend ?? scope.primary) === scope.backend).map((v) => v.name));
}

/**
 * Audits one simulator (the backend `scope.backend`) against the ledger: only the ledger's entries whose ids name
 * this backend are expected on it; a disk here whose id names another backend is misplaced.
 */
export async function auditSimulator(dataDir: string, admin: SimAdmin, volumes: VolumeEntry[], scope: AuditScope = SINGLE): Promise<AuditResult> {
  const state = JSON.parse(readFileSync(path.join(dataDir, STATE_FILE), 'utf8')) as SimState;
  const wire = await untilReachable(() => admin.call(['/disk/print']), 30000);
  const r: AuditResult = {
    lost: [],
    leaked: [],
    duplicated: [],
    wrongSize: [],
    wrongExport: [],
    wireMismatch: [],
    misplaced: [],
    unresolved: 0,
    disks: state.disks.length,
    files: 0,
  };
  const wireSlots = wire
    .filter((d) => d.type === 'file')
    .map((d) => `${d.slot}:${d['file-size']}`)
    .sort();
  const stateSlots = state.disks.map((d) => `${d.slot}:${d.fileSize}`).sort();
  if (JSON.stringify(wireSlots) !== JSON.stringify(stateSlots))
    r.wireMismatch.push(`state ${stateSlots.length} disks, /disk print ${wireSlots.length}`);

  const { bySlot: byId, elsewhere, misplaced, unresolved } = expectations(volumes, scope);
  r.unresolved = unresolved;
  r.misplaced.push(...misplaced);
  const here = scope.backend === scope.primary ? '' : ` on ${scope.backend}`;
  const maybeOwned = unresolvedOwner(volumes, scope);
  const unansweredSnapshots = volumes.some(
    (v) => (v.backend ?? scope.primary) === scope.backend && v.snapshots.some((s) => s.state === 'unanswered'),
  );
  const bySlot = new Map<string, typeof state.disks>();
  for (const d of state.disks) bySlot.set(d.slot, [...(bySlot.get(d.slot) ?? []), d]);
  const byFile = new Map<string, number>();
  for (const d of state.disks) byFile.set(d.filePath, (byFile.get(d.filePath) ?? 0) + 1);
  for (const [f, n] of byFile) if (n > 1) r.duplicated.push(`${n} disks on ${f}${here}`);

  const files = new Set(
    filesUnder(dataDir)
      .filter((f) => !f.startsWith('.'))
      .map((f) => `/${f}`),
  );
  r.files = files.size;
  const ownedFiles = new Set<string>();
  for (const e of byId.values()) {
    const disks = bySlot.get(e.slot) ?? [];
    const file = e.kind === 'volume' ? `/pool/rds-csi/${e.slot}.img` : `/pool/rds-csi/snapshots/${e.slot}.img`;
    if (disks.length > 1) r.duplicated.push(`${e.kind} ${e.id}: ${disks.length} disks`);
    if (e.want === 'absent') {
      if (disks.length) r.leaked.push(`deleted ${e.kind} ${e.id} still has a disk`);
      if (files.has(file)) r.leaked.push(`deleted ${e.kind} ${e.id} still has ${file}`);
      ownedFiles.add(file); // reported just above, not again as unowned
      continue;
    }
    for (const d of disks) ownedFiles.add(d.filePath);
    ownedFiles.add(file);
    if (e.want === 'either') continue;
    const d = disks[0];
    if (!d) {
      r.lost.push(`${e.kind} ${e.id}: no disk`);
      continue;
    }
    if (d.filePath !== file || !files.has(file)) r.lost.push(`${e.kind} ${e.id}: no backing file ${file} (disk says ${d.filePath})`);
    else if (statSync(path.join(dataDir, file)).size !== d.fileSize)
      r.wrongSize.push(`${e.id}: file ${statSync(path.join(dataDir, file)).size} ≠ disk ${d.fileSize}`);
    if (e.kind === 'volume' ? !e.sizes.includes(d.fileSize) : d.fileSize < e.sizes[0])
      r.wrongSize.push(`${e.kind} ${e.id}: disk ${d.fileSize}, driver said ${e.sizes.join(' or ')}`);
    if (e.kind === 'volume' && !d.nvmeTcpExport) r.wrongExport.push(`volume ${e.id}: not exported`);
    if (e.kind === 'snapshot' && d.nvmeTcpExport) r.wrongExport.push(`snapshot ${e.id}: exported`);
  }
  for (const [slot, disks] of bySlot) {
    if (byId.has(slot) || maybeOwned.has(slot)) continue;
    const other = elsewhere.get(slot);
    if (other !== undefined) {
      r.misplaced.push(`disk ${slot} (${disks[0].filePath}) is on ${scope.backend}, but its id ${other} names another backend`);
      ownedFiles.add(disks[0].filePath);
      continue;
    }
    if (slot.startsWith('snap') && unansweredSnapshots) continue;
    r.leaked.push(`disk ${slot} (${disks[0].filePath})${here} owned by no volume or snapshot`);
  }
  for (const f of files) {
    if (ownedFiles.has(f)) continue;
    const base = path.posix.basename(f, '.img');
    if (maybeOwned.has(base) || (base.startsWith('snap') && unansweredSnapshots)) continue;
    r.leaked.push(`file ${f}${here} owned by no volume or snapshot`);
  }
  return r;
}

/** Several simulators' audits as one (every list joined; counts added). */
export function mergeAudits(results: AuditResult[]): AuditResult {
  const lists = ['lost', 'leaked', 'duplicated', 'wrongSize', 'wrongExport', 'wireMismatch', 'misplaced'] as const;
  const out: AuditResult = {
    lost: [],
    leaked: [],
    duplicated: [],
    wrongSize: [],
    wrongExport: [],
    wireMismatch: [],
    misplaced: [],
    unresolved: 0,
    disks: 0,
    files: 0,
  };
  for (const r of results) {
    for (const k of lists) out[k].push(...r[k]);
    out.unresolved += r.unresolved;
    out.disks += r.disks;
    out.files += r.files;
  }
  return out;
}

const SCHEDULERS = new Set(['reconcile.orphans', 'reconcile.attachments']);

export async function queueCounts(redisUrl: string, prefix = 'rds-csi'): Promise<QueueCounts> {
  const conn = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(VOLUME_QUEUE, { connection: conn, prefix, skipVersionCheck: true });
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed', 'paused');
    const open = await queue.getJobs(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused'], 0, 1000);
    const stuck: QueueCounts['stuck'] = [];
    for (const j of open) {
      if (SCHEDULERS.has(j.name) || j.repeatJobKey) continue;
      stuck.push({ id: j.id ?? '?', name: j.name, state: await j.getState(), attemptsMade: j.attemptsMade });
    }
    const failedByName: Record<string, number> = {};
    for (const j of await queue.getJobs(['failed'], 0, 5000)) failedByName[j.name] = (failedByName[j.name] ?? 0) + 1;
    return { counts, stuck, failedByName };
  } finally {
    await queue.close();
    conn.disconnect();
  }
}
