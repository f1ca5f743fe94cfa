/**
 * The soak's I/O processes (test/vm/guest/soak.ts starts one writer and one reader per volume, each its own process,
 * so a write or read blocked in the kernel during an outage blocks only that process):
 *
 *   node soak-io.js write DIR TARGET TAG RING   appends records 0, 1, 2, ... at slot seq % RING of TARGET
 *   node soak-io.js read  DIR TARGET TAG RING   every 5 s re-reads the 32 records before the last one, checks each
 *   node soak-io.js verify DIR TARGET TAG RING  checks every slot against the writer's last acknowledged record
 *
 * A record is one 4 KiB block: "RDSSOAK1", the sequence number, the tag (volume), the write time, the SHA-256 of the
 * rest, random payload. Each record is written by its own `dd oflag=direct,dsync` (node cannot align buffers for
 * O_DIRECT) and counts as acknowledged when dd exits 0: it is then on the target's disk. The writer keeps DIR/progress
 * (last acknowledged seq), appends every write that took longer than STALL_MS to DIR/stalls (JSON lines: start, end,
 * seq; an outage shows as one stall that ends when I/O resumed) and every failed write to DIR/failures; a failed
 * write is retried with the same seq (with ctrl_loss_tmo −1 there should be none: a write blocks, it does not fail).
 * Stops when DIR/stop exists.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export const RECORD = 4096;
const MAGIC = Buffer.from('RDSSOAK1');
const STALL_MS = 250;
// ~3 records/s per volume: under TCG every dd is a fork+exec, and three writers plus readers at 10/s starved the VM
// (NodeGetVolumeStats took 10-38 s). Resume time does not depend on the pace: it is the end of the write that
// was blocked across the restore.
const PACE_MS = 300;

const hashOf = (rec: Buffer): Buffer => createHash('sha256').update(rec.subarray(0, 32)).update(rec.subarray(64)).digest();

export function makeRecord(seq: number, tag: string): Buffer {
  const rec = Buffer.alloc(RECORD);
  MAGIC.copy(rec, 0);
  rec.writeBigUInt64BE(BigInt(seq), 8);
  Buffer.from(tag.padEnd(8).slice(0, 8)).copy(rec, 16);
  rec.writeBigUInt64BE(BigInt(Date.now()), 24);
  randomBytes(RECORD - 64).copy(rec, 64);
  hashOf(rec).copy(rec, 32);
  return rec;
}

export type RecordCheck = { ok: true; seq: number } | { ok: false; kind: 'blank' | 'corrupt' | 'foreign'; seq?: number };

export function checkRecord(rec: Buffer, tag: string): RecordCheck {
  if (rec.length < RECORD || rec.every((b) => b === 0)) return { ok: false, kind: 'blank' };
  if (!rec.subarray(0, 8).equals(MAGIC) || !hashOf(rec).equals(rec.subarray(32, 64))) return { ok: false, kind: 'corrupt' };
  const seq = Number(rec.readBigUInt64BE(8));
  if (rec.subarray(16, 24).toString() !== tag.padEnd(8).slice(0, 8)) return { ok: false, kind: 'foreign', seq };
  return { ok: true, seq };
}

/** The seq slot `slot` must hold when `last` is the last acknowledged record (−1 when never written). */
export const expectedSeq = (slot: number, last: number, ring: number): number => (slot > last ? -1 : last - ((((last - slot) % ring) + ring) % ring));

const sleepSync = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function readProgress(dir: string): number {
  try {
    return Number(readFileSync(`${dir}/progress`, 'utf8').trim());
  } catch {
    return -1;
  }
}

/** Reads COUNT records from slot FIRST with O_DIRECT (dd iflag=direct); the bytes read, or the error text. */
export function readRecords(target: string, first: number, count: number): Buffer | string {
  const r = spawnSync('dd', [`if=${target}`, 'iflag=direct', `bs=${RECORD}`, `skip=${first}`, `count=${count}`, 'status=none'], {
    maxBuffer: count * RECORD + RECORD,
  });
  if (r.status !== 0) return `dd exit ${r.status}: ${String(r.stderr).trim()}`;
  return r.stdout;
}

function write(dir: string, target: string, tag: string, ring: number): void {
  const recFile = `${dir}/record`;
  let seq = readProgress(dir) + 1;
  while (!existsSync(`${dir}/stop`)) {
    writeFileSync(recFile, makeRecord(seq, tag));
    const start = Date.now();
    const r = spawnSync(
      'dd',
      [`if=${recFile}`, `of=${target}`, `bs=${RECORD}`, 'count=1', `seek=${seq % ring}`, 'oflag=direct,dsync', 'conv=notrunc', 'status=none'],
      { encoding: 'utf8' },
    );
    const end = Date.now();
    if (end - start > STALL_MS) appendFileSync(`${dir}/stalls`, `${JSON.stringify({ start, end, seq, ok: r.status === 0 })}\n`);
    if (r.status !== 0) {
      appendFileSync(
        `${dir}/failures`,
        `${JSON.stringify({ at: end, seq, status: r.status, err: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() })}\n`,
      );
      sleepSync(1000);
      continue;
    }
    writeFileSync(`${dir}/progress.tmp`, `${seq}\n`);
    renameSync(`${dir}/progress.tmp`, `${dir}/progress`);
    seq++;
    sleepSync(PACE_MS);
  }
}

interface Tally {
  checked: number;
  bad: Array<{ slot: number; expected: number; found: string }>;
  readErrors: number;
}

/** Checks slots [first, first+count) against the writer's last acknowledged record `last`. */
function checkSlots(target: string, tag: string, ring: number, last: number, first: number, count: number, t: Tally, skipSlot = -1): void {
  const buf = readRecords(target, first, count);
  if (typeof buf === 'string') {
    t.readErrors++;
    t.bad.push({ slot: first, expected: -1, found: buf });
    return;
  }
  for (let i = 0; i < count; i++) {
    const slot = first + i;
    if (slot === skipSlot) continue;
    const want = expectedSeq(slot, last, ring);
    if (want < 0) continue;
    const c = checkRecord(buf.subarray(i * RECORD, (i + 1) * RECORD), tag);
    t.checked++;
    // A record newer than `last` (the next write landed after progress was read) is fine while running.
    if (c.ok && (c.seq === want || (skipSlot >= 0 && c.seq === want + ring))) continue;
    t.bad.push({ slot, expected: want, found: c.ok ? `seq ${c.seq}` : `${c.kind}${c.seq !== undefined ? ` seq ${c.seq}` : ''}` });
  }
}

function read(dir: string, target: string, tag: string, ring: number): void {
  const t: Tally = { checked: 0, bad: [], readErrors: 0 };
  let rounds = 0;
  while (!existsSync(`${dir}/stop`)) {
    const last = readProgress(dir);
    if (last >= 2) {
      // the 32 records before the last acknowledged one, never the slot being written (last + 1)
      const from = Math.max(0, last - 32);
      const first = Math.max(from % ring, 0);
      const count = Math.min(last - from, ring - first);
      checkSlots(target, tag, ring, last, first, count, t, (last + 1) % ring);
      rounds++;
      writeFileSync(
        `${dir}/reader.tmp`,
        JSON.stringify({ rounds, checked: t.checked, bad: t.bad.length, readErrors: t.readErrors, firstBad: t.bad.slice(0, 5) }),
      );
      renameSync(`${dir}/reader.tmp`, `${dir}/reader.json`);
    }
    sleepSync(5000);
  }
}

function verify(dir: string, target: string, tag: string, ring: number): void {
  const last = readProgress(dir);
  const t: Tally = { checked: 0, bad: [], readErrors: 0 };
  const slots = Math.min(last + 1, ring);
  for (let first = 0; first < slots; first += 1024) checkSlots(target, tag, ring, last, first, Math.min(1024, slots - first), t);
  writeFileSync(
    `${dir}/verify.json`,
    JSON.stringify({ last, written: last + 1, checked: t.checked, bad: t.bad.length, readErrors: t.readErrors, firstBad: t.bad.slice(0, 10) }),
  );
}

if (require.main === module) {
  const [mode, dir, target, tag, ringS] = process.argv.slice(2);
  const ring = Number(ringS);
  if (!dir || !target || !tag || !(ring > 0)) {
    console.error('usage: soak-io.js write|read|verify DIR TARGET TAG RING');
    process.exit(2);
  }
  if (mode === 'write') write(dir, target, tag, ring);
  else if (mode === 'read') read(dir, target, tag, ring);
  else if (mode === 'verify') verify(dir, target, tag, ring);
  else process.exit(2);
}
