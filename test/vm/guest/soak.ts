/**
 * VM scenario driver (test/vm/scenarios/soak.sh): many NVMe/TCP target outages under verified I/O (issue 17).
 *
 * An ext4, an xfs and a block volume (three nvmet subsystems) are staged and published at once by the real plugin.
 * On each a writer appends checksummed, sequence-numbered 4 KiB records with O_DIRECT + O_DSYNC and a reader
 * re-reads recent ones (soak-io.ts, one process each). Then OUTAGES target outages (port→subsystem link removed),
 * durations drawn from OUTAGE_RANGE seconds by a PRNG seeded with SEED, a third of them on all three subsystems at
 * once (the RDS restarting) and the rest on one; in the middle a burst of short flaps (20 of 100–500 ms; fewer for a
 * small soak); every tenth outage (the last one when there are fewer than ten) the plugin is SIGKILLed and restarted
 * while the target is down; NodeGetVolumeStats is polled throughout. RECONNECT_DELAY (seconds) is passed to the
 * plugin as --reconnect-delay; empty = the plugin's default.
 *
 * Measured per outage and in total: mounts lost, file systems reformatted (UUID), records lost or corrupted at the
 * final verify (caches dropped, O_DIRECT reads), writes that failed instead of blocking, I/O resume time after the
 * restore (from the writer's stalled write that spans it), VolumeCondition abnormal during / normal after (misses),
 * device renames. Any loss fails the scenario; resume times and condition misses are measured and reported.
 * Results: /results/soak.json and /results/soak-table.md.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  check,
  controllers,
  ctrlState,
  devNumbers,
  deviceOf,
  dropCaches,
  log,
  MiB,
  mountAt,
  nodeNumbers,
  nvmetExport,
  nvmetLink,
  nvmetUnexport,
  nvmetUnlink,
  Plugin,
  readSys,
  RESULTS,
  runMain,
  sh,
  sleep,
  type Stats,
  volume,
  type Volume,
  waitFor,
} from './lib';

// ---- parameters and the seeded plan ------------------------------------------------------------------------------------
const N = Number(process.env.OUTAGES || '5');
const SEED = Number(process.env.SEED || '1');
const [RMIN, RMAX] = (process.env.OUTAGE_RANGE || '1-60').split('-').map(Number) as [number, number];
const RECONNECT_DELAY = process.env.RECONNECT_DELAY || '';
const FLAPS = N >= 20 ? 20 : Math.max(3, N);
const RING = 65536; // records per volume (256 MiB); at ~3 records/s no wrap within 6 h
const SIZE = 384 * MiB;
const IO = path.join(__dirname, 'soak-io.js');

/** mulberry32: a small seeded PRNG, so a seed names one schedule. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);

interface V {
  kind: 'ext4' | 'xfs' | 'block';
  vol: Volume;
  dev: string;
  numbers: string;
  ctrl: string;
  uuid: string;
  data: string;
  dir: string;
  writer?: ChildProcess;
  reader?: ChildProcess;
  renames: number;
}

interface Planned {
  index: number;
  seconds: number;
  scope: number[]; // indexes into vols
  kill: boolean;
}

const plan: Planned[] = [];
for (let i = 1; i <= N; i++) {
  const seconds = Math.round((RMIN + rand() * (RMAX - RMIN)) * 10) / 10;
  const all = rand() < 1 / 3;
  const one = Math.floor(rand() * 3);
  plan.push({ index: i, seconds, scope: all ? [0, 1, 2] : [one], kill: i % 10 === 0 || (N < 10 && i === N) });
}
const flapPlan = Array.from({ length: FLAPS }, () => ({
  ms: Math.round(100 + rand() * 400),
  gapMs: Math.round(200 + rand() * 800),
  scope: rand() < 0.5 ? [0, 1, 2] : [Math.floor(rand() * 3)],
}));
const burstAfter = Math.max(1, Math.floor(N / 2));

const plugin = new Plugin({ extraArgs: RECONNECT_DELAY ? ['--reconnect-delay', RECONNECT_DELAY] : [] });
const vols: V[] = [];

// ---- I/O processes --------------------------------------------------------------------------------------------------------
const readText = (f: string): string => {
  try {
    return readFileSync(f, 'utf8');
  } catch {
    return '';
  }
};
const progress = (v: V): number => Number(readText(`${v.dir}/progress`).trim() || '-1');
const jsonLines = <T>(f: string): T[] =>
  readText(f)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
const stalls = (v: V): Array<{ start: number; end: number; seq: number; ok: boolean }> => jsonLines(`${v.dir}/stalls`);
const failures = (v: V): Array<{ at: number; seq: number; err: string }> => jsonLines(`${v.dir}/failures`);
const readerState = (v: V): { rounds: number; checked: number; bad: number; readErrors: number; firstBad: unknown[] } =>
  JSON.parse(readText(`${v.dir}/reader.json`) || '{"rounds":0,"checked":0,"bad":0,"readErrors":0,"firstBad":[]}') as {
    rounds: number;
    checked: number;
    bad: number;
    readErrors: number;
    firstBad: unknown[];
  };

function startIo(v: V, mode: 'write' | 'read'): ChildProcess {
  const fd = openSync(`${v.dir}/${mode}.log`, 'a');
  const child = spawn(process.execPath, [IO, mode, v.dir, v.data, v.kind, String(RING)], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return child;
}

async function stopIo(v: V): Promise<void> {
  writeFileSync(`${v.dir}/stop`, '');
  for (const c of [v.writer, v.reader]) {
    if (!c || c.exitCode !== null || c.signalCode !== null) continue;
    await Promise.race([new Promise((r) => c.once('exit', r)), sleep(120000)]);
  }
}

// ---- host views -------------------------------------------------------------------------------------------------------------
/** Mount (or device node) still there with the volume's device numbers. */
function attached(v: V): boolean {
  if (v.kind === 'block') return nodeNumbers(v.vol.target) === currentNumbers(v);
  return mountAt(v.vol.staging)?.dev === currentNumbers(v) && mountAt(v.vol.target)?.dev === currentNumbers(v);
}
const currentNumbers = (v: V): string | undefined => {
  const d = deviceOf(v.vol.nqn);
  return d ? devNumbers(d) : undefined;
};
const uuidOf = (dev: string): string => sh('blkid', ['-p', '-s', 'UUID', '-o', 'value', dev]).out;

// ---- NodeGetVolumeStats, polled throughout ----------------------------------------------------------------------------------
interface Sample {
  vol: number;
  t0: number;
  t1: number;
  abnormal?: boolean;
  message?: string;
  code?: number;
}
const samples: Sample[] = [];
let polling = true;
let pluginDown = false;
const statsErrors: string[] = [];

async function askStats(i: number): Promise<Sample> {
  const v = vols[i];
  const t0 = Date.now();
  const r = await plugin.call<Stats>('Node', 'NodeGetVolumeStats', { volumeId: v.vol.volumeId, volumePath: v.vol.target }, 90000);
  const s: Sample = {
    vol: i,
    t0,
    t1: Date.now(),
    abnormal: r.res?.volumeCondition?.abnormal,
    message: r.res?.volumeCondition?.message ?? r.details,
    code: r.code,
  };
  samples.push(s);
  if (r.code !== undefined && !pluginDown) statsErrors.push(`${v.kind}: code ${r.code} ${r.details}`);
  return s;
}

async function poller(): Promise<void> {
  while (polling) {
    if (!pluginDown) for (let i = 0; i < vols.length && polling; i++) await askStats(i);
    await sleep(3000);
  }
}

// ---- one outage ---------------------------------------------------------------------------------------------------------------
interface Row {
  index: number | string;
  kind: string;
  seconds: number;
  /** measured from the unlink to the relink (timers run late under load) */
  downSeconds: number;
  killed: boolean;
  detected: string;
  abnormalDuring: Array<'yes' | 'miss' | 'unmeasured' | 'undetected'>;
  normalAfter: Array<'yes' | 'miss' | 'unanswered'>;
  resumeMs: Array<number | null>;
  othersKeptWriting: boolean | null;
  writeFailures: number;
  attachedAll: boolean;
  renames: number;
  pluginFollowed: boolean | null;
}
const rows: Row[] = [];
const pending: Array<Promise<void>> = [];
/** The longest write per volume during the flap burst. */
const burstLongestWriteMs: number[] = [];
/** Outages (and flaps) cut so far. */
let cuts = 0;

/** The writer's stalled write that spans the restore ends when I/O resumed; null when no write was blocked then. */
function resumeOf(v: V, tRestore: number, stallsBefore: number): number | null {
  const s = stalls(v)
    .slice(stallsBefore)
    .find((x) => x.start <= tRestore && x.end >= tRestore);
  return s ? s.end - tRestore : null;
}

async function afterRestore(row: Row, scope: number[], tRestore: number, stallsBefore: number[], failuresBefore: number[]): Promise<void> {
  for (const i of scope) {
    const v = vols[i];
    const p = progress(v);
    const resumed = await waitFor(120000, () => progress(v) >= p + 2, 50);
    if (!resumed) log(`${row.kind}: ${v.kind} writer did not resume within 120 s (progress ${progress(v)})`);
    row.resumeMs.push(resumed ? resumeOf(v, tRestore, stallsBefore[i]) : null);
    const live = await waitFor(30000, () => controllers(v.vol.nqn).some((c) => ctrlState(c) === 'live'), 100);
    if (!live)
      log(
        `${row.kind}: ${v.kind} controller not live: ${controllers(v.vol.nqn)
          .map((c) => `${c}=${ctrlState(c)}`)
          .join(',')}`,
      );
    // asked now, answered whenever the plugin gets to it (slow under load): the soak does not wait for it
    // (an answer that comes after the next outage's cut says nothing about this restore: unanswered)
    const k = row.normalAfter.push('unanswered') - 1;
    const cutsBefore = cuts;
    if (!pluginDown)
      pending.push(
        askStats(i).then((after) => {
          if (cuts !== cutsBefore) return;
          row.normalAfter[k] = after.abnormal === false ? 'yes' : after.abnormal === true ? 'miss' : 'unanswered';
          if (after.abnormal !== false) log(`${row.kind}: ${v.kind} condition after restore: ${after.message ?? 'no answer'}`);
        }),
      );
  }
  for (const [i, v] of vols.entries()) {
    row.writeFailures += failures(v).length - failuresBefore[i];
    const dev = deviceOf(v.vol.nqn);
    if (dev !== v.dev) {
      row.renames++;
      v.renames++;
      log(`${row.kind}: ${v.kind} device renamed ${v.dev} -> ${dev}`);
      v.dev = dev ?? v.dev;
    }
  }
  row.attachedAll = vols.every(attached);
  if (row.renames) row.pluginFollowed = row.attachedAll;
}

async function outage(o: Planned): Promise<void> {
  const kind = o.scope.length === 3 ? 'all' : vols[o.scope[0]].kind;
  const row: Row = {
    index: o.index,
    kind,
    seconds: o.seconds,
    downSeconds: 0,
    killed: o.kill,
    detected: '',
    abnormalDuring: [],
    normalAfter: [],
    resumeMs: [],
    othersKeptWriting: null,
    writeFailures: 0,
    attachedAll: false,
    renames: 0,
    pluginFollowed: null,
  };
  const stallsBefore = vols.map((v) => stalls(v).length);
  const failuresBefore = vols.map((v) => failures(v).length);
  const others = vols.map((_, i) => i).filter((i) => !o.scope.includes(i));
  const othersBefore = others.map((i) => progress(vols[i]));
  log(`OUTAGE ${o.index}/${N}: ${o.seconds} s on ${kind}${o.kill ? ', plugin SIGKILLed and restarted meanwhile' : ''}`);
  const tCut = Date.now();
  cuts++;
  for (const i of o.scope) nvmetUnlink(vols[i].vol.nqn);
  let tRestore = 0;
  const restored = sleep(o.seconds * 1000).then(() => {
    for (const i of o.scope) nvmetLink(vols[i].vol.nqn);
    tRestore = Date.now();
  });
  let ready: Promise<boolean> | undefined;
  if (o.kill) {
    pluginDown = true;
    check(`outage ${o.index}: plugin SIGKILLed while the target is down`, await plugin.kill('SIGKILL'));
    plugin.spawn();
    ready = plugin.ready(600000).then((ok) => ((pluginDown = false), ok));
  }
  const detectBy = Math.min(o.seconds * 1000 - 100, 10000);
  const detected = await Promise.all(
    o.scope.map((i) =>
      waitFor(Math.max(0, detectBy - (Date.now() - tCut)), () => controllers(vols[i].vol.nqn).every((c) => ctrlState(c) !== 'live'), 50),
    ),
  );
  const tDetect = Date.now();
  row.detected = `${detected.filter(Boolean).length}/${o.scope.length}`;
  if (o.kill && ready) await Promise.race([ready, restored]);
  // one dedicated NodeGetVolumeStats per affected volume while the target is still down (when the plugin is up)
  if (!tRestore && !pluginDown) await Promise.all(o.scope.map((i) => Promise.race([askStats(i), restored])));
  await restored;
  row.downSeconds = (tRestore - tCut) / 1000;
  for (const [k, i] of o.scope.entries()) {
    if (!detected[k]) {
      row.abnormalDuring.push('undetected');
      continue;
    }
    const inside = samples.filter((s) => s.vol === i && s.t0 >= tDetect && s.t1 <= tRestore && s.code === undefined);
    row.abnormalDuring.push(inside.length === 0 ? 'unmeasured' : inside.some((s) => s.abnormal) ? 'yes' : 'miss');
  }
  if (others.length) row.othersKeptWriting = others.every((i, k) => progress(vols[i]) > othersBefore[k]);
  if (ready) check(`outage ${o.index}: plugin ready again after the SIGKILL`, await ready, `${plugin.lastStartSeconds.toFixed(1)} s`);
  await afterRestore(row, o.scope, tRestore, stallsBefore, failuresBefore);
  log(`outage ${o.index}: ${tRestore - tCut} ms down, resume ${row.resumeMs.join('/')} ms, condition during ${row.abnormalDuring.join('/')}`);
  rows.push(row);
}

async function flapBurst(): Promise<void> {
  log(`FLAPS: ${FLAPS} outages of 100-500 ms`);
  const row: Row = {
    index: 'flaps',
    kind: `${FLAPS} flaps`,
    seconds: flapPlan.reduce((a, f) => a + f.ms, 0) / 1000,
    downSeconds: 0,
    killed: false,
    detected: '',
    abnormalDuring: [],
    normalAfter: [],
    resumeMs: [],
    othersKeptWriting: null,
    writeFailures: 0,
    attachedAll: false,
    renames: 0,
    pluginFollowed: null,
  };
  const stallsBefore = vols.map((v) => stalls(v).length);
  const failuresBefore = vols.map((v) => failures(v).length);
  let tRestore = 0;
  for (const f of flapPlan) {
    const tCut = Date.now();
    cuts++;
    for (const i of f.scope) nvmetUnlink(vols[i].vol.nqn);
    await sleep(f.ms);
    for (const i of f.scope) nvmetLink(vols[i].vol.nqn);
    tRestore = Date.now();
    row.downSeconds += (tRestore - tCut) / 1000;
    await sleep(f.gapMs);
  }
  row.detected = 'n/a';
  // resume: the write blocked across the last relink, measured from it (null: that volume was not blocked then)
  await afterRestore(row, [0, 1, 2], tRestore, stallsBefore, failuresBefore);
  const longest = vols.map((v, i) =>
    Math.max(
      0,
      ...stalls(v)
        .slice(stallsBefore[i])
        .map((x) => x.end - x.start),
    ),
  );
  log(`flaps: resume after the last relink ${row.resumeMs.join('/')} ms; longest write during the burst ${longest.join('/')} ms`);
  burstLongestWriteMs.push(...longest);
  rows.push(row);
}

// ---- summary ----------------------------------------------------------------------------------------------------------------
const pct = (xs: number[], p: number): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const sec = (ms: number | null): string => (ms === null ? '-' : (ms / 1000).toFixed(2));

function report(totals: Record<string, unknown>, resumes: number[], reconnectDelay: string, wall: number): void {
  const p50 = pct(resumes, 50);
  const p99 = pct(resumes, 99);
  const max = resumes.length ? Math.max(...resumes) : null;
  const summary = {
    outages: N,
    seed: SEED,
    outageRange: [RMIN, RMAX],
    flaps: FLAPS,
    reconnectDelay,
    wallSeconds: wall,
    resumeMs: { n: resumes.length, p50, p99, max },
    ...totals,
    rows,
  };
  writeFileSync(path.join(RESULTS, 'soak.json'), `${JSON.stringify(summary, null, 2)}\n`);
  const t: string[] = [];
  t.push(`# soak: ${N} outages of ${RMIN}-${RMAX} s + ${FLAPS} flaps, seed ${SEED}, reconnect_delay ${reconnectDelay} s, ${wall.toFixed(0)} s`);
  t.push('');
  t.push('| total | value |', '|---|---|');
  for (const [k, v] of Object.entries(totals)) t.push(`| ${k} | ${typeof v === 'string' || typeof v === 'number' ? v : JSON.stringify(v)} |`);
  t.push(`| I/O resume after restore, s (p50 / p99 / max of ${resumes.length}) | ${sec(p50)} / ${sec(p99)} / ${sec(max)} |`);
  t.push('');
  t.push(
    '| # | on | planned s | down s | plugin killed | detected | abnormal during | normal after | resume s | others kept writing | failed writes | attached | renames |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of rows)
    t.push(
      `| ${r.index} | ${r.kind} | ${r.seconds} | ${r.downSeconds.toFixed(1)} | ${r.killed ? 'yes' : ''} | ${r.detected} | ${r.abnormalDuring.join(' ')} | ${r.normalAfter.join(' ')} | ${r.resumeMs.map(sec).join(' ')} | ${r.othersKeptWriting === null ? '' : r.othersKeptWriting ? 'yes' : 'NO'} | ${r.writeFailures} | ${r.attachedAll ? 'yes' : 'NO'} | ${r.renames}${r.pluginFollowed === null ? '' : r.pluginFollowed ? ' (followed)' : ' (NOT followed)'} |`,
    );
  writeFileSync(path.join(RESULTS, 'soak-table.md'), `${t.join('\n')}\n`);
  for (const l of t.slice(0, 12)) log(l);
}

// ---- main -------------------------------------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const t0 = Date.now();
  log(
    `soak: ${N} outages ${RMIN}-${RMAX} s, seed ${SEED}, ${FLAPS} flaps after outage ${burstAfter}, reconnect delay ${RECONNECT_DELAY || 'plugin default'}`,
  );
  writeFileSync(path.join(RESULTS, 'soak-plan.json'), `${JSON.stringify({ plan, flapPlan, burstAfter }, null, 2)}\n`);
  plugin.spawn();
  const kinds = ['ext4', 'xfs', 'block'] as const;
  const specs = kinds.map((k) => {
    const vol = volume(`pvc-soak-${k}`, k);
    delete (vol.stageReq.volumeContext as Record<string, string>).reconnectDelay; // the plugin's own setting applies
    nvmetExport(vol.nqn, SIZE);
    return { k, vol };
  });
  check('rds-csi node ready', await plugin.ready(600000), `${plugin.lastStartSeconds.toFixed(1)} s`);
  for (const { k, vol } of specs) {
    await plugin.rpc('NodeStageVolume', vol.stageReq, `NodeStageVolume (${k})`);
    await plugin.rpc('NodePublishVolume', vol.pubReq, `NodePublishVolume (${k})`);
    const dev = deviceOf(vol.nqn);
    const ctrl = controllers(vol.nqn)[0];
    if (!check(`${k}: device and controller found by NQN`, !!dev && !!ctrl, `${dev} ${ctrl}`) || !dev || !ctrl) return;
    const dir = `/tmp/soak-${k}`;
    mkdirSync(dir, { recursive: true });
    const data = k === 'block' ? vol.target : path.join(vol.target, 'soak.log');
    vols.push({ kind: k, vol, dev, numbers: devNumbers(dev) ?? '', ctrl, uuid: k === 'block' ? '' : uuidOf(dev), data, dir, renames: 0 });
  }
  const rd = readSys(`/sys/class/nvme/${vols[0].ctrl}/reconnect_delay`) ?? RECONNECT_DELAY ?? '?';
  const kato = readSys(`/sys/class/nvme/${vols[0].ctrl}/kato`) ?? '?';
  log(`controllers: ${vols.map((v) => `${v.kind} ${v.ctrl} ${v.dev} ${v.numbers} ${v.uuid}`).join('; ')}; reconnect_delay ${rd} s, kato ${kato} s`);
  check(
    'file systems have UUIDs',
    vols.every((v) => v.kind === 'block' || v.uuid !== ''),
  );
  for (const v of vols) v.writer = startIo(v, 'write');
  check(
    'every writer is appending records',
    await waitFor(60000, () => vols.every((v) => progress(v) >= 5), 200),
    vols.map((v) => progress(v)).join('/'),
  );
  for (const v of vols) v.reader = startIo(v, 'read');
  const polled = poller();

  for (const o of plan) {
    await outage(o);
    if (o.index === burstAfter) await flapBurst();
    // give the after-restore stats answers up to 15 s before the next cut (an answer after it does not count)
    await Promise.race([Promise.all(pending), sleep(15000)]);
    await sleep(1000 + rand() * 2000);
  }

  polling = false;
  await polled;
  await Promise.all(pending);
  log('stopping writers and readers');
  for (const v of vols) await stopIo(v);
  dropCaches();
  const verify: Record<string, unknown> = {};
  let lost = 0;
  let written = 0;
  for (const v of vols) {
    const r = spawnSync(process.execPath, [IO, 'verify', v.dir, v.data, v.kind, String(RING)], { encoding: 'utf8', timeout: 600000 });
    const res = JSON.parse(readText(`${v.dir}/verify.json`) || '{}') as { written?: number; checked?: number; bad?: number; firstBad?: unknown[] };
    verify[v.kind] = res;
    lost += res.bad ?? 1;
    written += res.written ?? 0;
    check(
      `${v.kind}: every acknowledged record read back intact (caches dropped, O_DIRECT)`,
      r.status === 0 && res.bad === 0 && (res.checked ?? 0) > 0,
      `${res.checked} checked, ${res.bad} bad ${JSON.stringify(res.firstBad ?? r.stderr)}`,
    );
  }
  const readerBad = vols.map((v) => readerState(v));
  const reformatted = vols.filter((v) => v.kind !== 'block' && uuidOf(v.dev) !== v.uuid).length;
  const blockFormatted = vols.some((v) => v.kind === 'block' && sh('blkid', ['-p', v.dev]).code !== 2);
  const mountsLost = rows.filter((r) => !r.attachedAll).length + (vols.every(attached) ? 0 : 1);
  const writeFailures = vols.reduce((a, v) => a + failures(v).length, 0);
  const outRows = rows.filter((r) => typeof r.index === 'number');
  const resumes = outRows.flatMap((r) => r.resumeMs.filter((x): x is number => x !== null));
  const count = (pick: (r: Row) => string[], what: string): number => outRows.reduce((a, r) => a + pick(r).filter((x) => x === what).length, 0);
  const totals = {
    'outages (+ flaps)': `${N} (+${FLAPS})`,
    'plugin SIGKILL + restart': plan.filter((o) => o.kill).length,
    'mounts lost': mountsLost,
    'volumes reformatted': reformatted + (blockFormatted ? 1 : 0),
    'records written (ext4/xfs/block)': vols.map((v) => progress(v) + 1).join(' / '),
    'records lost or corrupted at the final verify': lost,
    'records bad while running (reader)': readerBad.reduce((a, r) => a + r.bad, 0),
    'reader checks while running': readerBad.reduce((a, r) => a + r.checked, 0),
    'writes failed instead of blocking': writeFailures,
    'condition abnormal during outage: yes / miss / unmeasured / undetected': ['yes', 'miss', 'unmeasured', 'undetected']
      .map((w) => count((r) => r.abnormalDuring, w))
      .join(' / '),
    'condition normal after restore: yes / miss / unanswered': ['yes', 'miss', 'unanswered'].map((w) => count((r) => r.normalAfter, w)).join(' / '),
    'I/O not blocked at restore (no stall spanning it)': outRows.reduce((a, r) => a + r.resumeMs.filter((x) => x === null).length, 0),
    'stats polls (errors while the plugin was up)': `${samples.length} (${statsErrors.length})`,
    'device renames (plugin followed)': `${vols.reduce((a, v) => a + v.renames, 0)} (${rows.filter((r) => r.renames).every((r) => r.pluginFollowed) ? 'all' : 'NOT all'})`,
    'flap burst: longest write per volume, s (ext4/xfs/block)': burstLongestWriteMs.map((x) => (x / 1000).toFixed(1)).join(' / '),
    'longest write stall of the run, s': (Math.max(0, ...vols.flatMap((v) => stalls(v).map((x) => x.end - x.start))) / 1000).toFixed(1),
    'reconnect_delay / kato (sysfs)': `${rd} / ${kato}`,
  };
  const wall = (Date.now() - t0) / 1000;
  report(totals, resumes, rd, wall);
  check('no mount lost', mountsLost === 0);
  check('no volume reformatted (same file system UUIDs, block still blank to blkid)', reformatted === 0 && !blockFormatted);
  check('no write failed instead of blocking', writeFailures === 0, JSON.stringify(vols.map((v) => failures(v).slice(0, 3))));
  check(
    'no bad record seen by the readers while running',
    readerBad.every((r) => r.bad === 0),
    JSON.stringify(readerBad.map((r) => r.firstBad)),
  );
  check('writers acknowledged records', written > 0, String(written));
  check('no stats RPC error while the plugin was up', statsErrors.length === 0, statsErrors.slice(0, 3).join('; '));
  for (const v of vols) {
    await plugin.rpc('NodeUnpublishVolume', { volumeId: v.vol.volumeId, targetPath: v.vol.target }, `NodeUnpublishVolume (${v.kind})`);
    await plugin.rpc('NodeUnstageVolume', { volumeId: v.vol.volumeId, stagingTargetPath: v.vol.staging }, `NodeUnstageVolume (${v.kind})`);
  }
  check(
    'every controller disconnected after unstage',
    vols.every((v) => controllers(v.vol.nqn).length === 0),
  );
}

runMain('soak', main, async () => {
  polling = false;
  for (const v of vols) {
    if (!existsSync(`${v.dir}/stop`)) writeFileSync(`${v.dir}/stop`, '');
    // the writers' and readers' own records go back to the host with the results
    const out = path.join(RESULTS, 'soak-io', v.kind);
    mkdirSync(out, { recursive: true });
    for (const f of ['progress', 'stalls', 'failures', 'reader.json', 'verify.json', 'write.log', 'read.log'])
      if (existsSync(`${v.dir}/${f}`)) copyFileSync(`${v.dir}/${f}`, path.join(out, f));
  }
  plugin.closeClient();
  await plugin.kill('SIGTERM');
  for (const v of vols) {
    try {
      nvmetUnexport(v.vol.nqn);
    } catch (err) {
      log(`unexport: ${(err as Error).message}`);
    }
  }
});
