import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { CsiGrpcClient } from '../src/grpc/client';
import { removeDirSafely } from '../src/host/safe-remove';
import { moduleListProbe, packageOf } from '../test/support/module-list';
import { prepareVolume } from './node-stage';
import { killOnExit, memoryOf } from './support/procs';
import { mib, sleep, table } from './support/stats';

/**
 * (m) The node plugin's footprint (issue 14 item 4): a real `rds-csi node` process (dist/src/cli/main.js, loop
 * connector), as the DaemonSet runs it on every host. Start time = spawn until the CSI socket exists; RSS
 * (/proc/PID/status VmRSS) 3 s after it is ready (start-up) and idle once settled (`settleMs` after ready, 60 s);
 * RSS after `cycles` NodeStage/NodeUnstage of an ext4 volume; the modules it has loaded (test/support/module-list.ts
 * preload, which also lists its packages). Why settled: 3 s after ready the heap still holds the start-up garbage
 * (module compilation, config, the bytecode of code that ran once); V8's memory reducer returns it after 30–60 s of
 * idling (measured in round 7: 51.1 → 47.5 MiB with the chart's options, 47.4–48.1 over 5 minutes through an orphan
 * scan), and a plugin idles on its node for days. The floor and the bare node are sampled at the same two points.
 * Goals: idle <= 50 MiB, <= 60 MiB after 100 cycles. test/cli/node-module-graph.test.ts checks which packages load.
 */
export interface NodeRssResult {
  cycles: number;
  /** NODE_OPTIONS of the process: '' (plain node) or the chart's (support/node-options.ts). */
  nodeOptions: string;
  skipped?: string;
  startMs?: number;
  /** VmRSS 3 s after ready: the start-up transient, before V8 returns the start-up garbage. */
  startupRssBytes?: number;
  /** VmRSS idle, settled: `settleMs` after ready (the goal's row). */
  idleRssBytes?: number;
  settleMs?: number;
  afterCyclesRssBytes?: number;
  peakRssBytes?: number;
  /** Wall time of the stage/unstage cycles (the CPU cost of options such as --jitless shows here). */
  cyclesMs?: number;
  modules?: number;
  packages?: number;
  /**
   * The floor with the same NODE_OPTIONS (support/node-floor.ts): a process that only serves the two CSI services
   * with grpc-js and makes the logger and the metrics registry, idle as long; and a bare `node` process.
   */
  floorRssBytes?: number;
  bareNodeRssBytes?: number;
  /** The same two, 3 s after they were ready. */
  floorStartupRssBytes?: number;
  bareNodeStartupRssBytes?: number;
  goals: { idleRssMiB: number; afterCyclesRssMiB: number };
}

const CLI = path.resolve(__dirname, '../src/cli/main.js');
const FLOOR = path.resolve(__dirname, 'support/node-floor.js');
const GOALS = { idleRssMiB: 50, afterCyclesRssMiB: 60 };
const NQN_PREFIX = 'nqn.2026-11.com.mikrotik.rds-csi.bench';

const STARTUP_MS = 3000;

/** VmRSS of `pid` at each of `atMs` (ascending) after now. */
async function samplesFrom(pid: number, atMs: number[]): Promise<number[]> {
  const t0 = Date.now();
  const out: number[] = [];
  for (const at of atMs) {
    await sleep(Math.max(0, t0 + at - Date.now()));
    out.push(memoryOf(pid).rssBytes);
  }
  return out;
}

/** VmRSS of `node <args>` with these NODE_OPTIONS at each of `atMs` after it wrote its first line. */
async function rssOf(args: string[], nodeOptions: string, atMs: number[]): Promise<number[]> {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: nodeOptions },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  killOnExit(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout?.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
    });
    return await samplesFrom(child.pid ?? -1, atMs);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

export async function runNodeRss(tmp: string, nodeOptions: string, cycles = 100, settleMs = 60000): Promise<NodeRssResult> {
  if (process.getuid?.() !== 0) return { cycles: 0, nodeOptions, skipped: 'needs root (loop devices, mounts)', goals: GOALS };
  const dir = mkdtempSync(path.join(tmp, 'rds-csi-bench-node-rss-'));
  const sock = path.join(dir, 'node.sock');
  const probe = moduleListProbe(dir, nodeOptions);
  const started = process.hrtime.bigint();
  const args = ['node', '--endpoint', `unix://${sock}`, '--node-id', 'bench-rss', '--connector', 'loop', '--loop-data-dir', dir];
  const child = spawn(process.execPath, [CLI, ...args, '--kubelet-dir', dir, '--log-level', 'warn'], {
    env: { PATH: process.env.PATH ?? '', ...probe.env, RDS_CSI_RDS_BASE_PATH: '/pool/rds-csi', RDS_CSI_NQN_PREFIX: NQN_PREFIX },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  killOnExit(child);
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-4096)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const client = new CsiGrpcClient(`unix://${sock}`);
  try {
    while (!existsSync(sock)) {
      if (child.exitCode !== null) throw new Error(`rds-csi node exited with ${child.exitCode}: ${err}`);
      await sleep(5);
    }
    const startMs = Number(process.hrtime.bigint() - started) / 1e6;
    const pid = child.pid ?? -1;
    // The floor and the bare node idle alongside (after the start, so the start time is the plugin's alone).
    const marks = [STARTUP_MS, settleMs];
    const [[startup, idle], floor, bare] = await Promise.all([
      samplesFrom(pid, marks),
      rssOf([FLOOR, dir], nodeOptions, marks),
      rssOf(['-e', "process.stdout.write('ready\\n'); setInterval(() => {}, 60000)"], nodeOptions, marks),
    ]);
    const modules = await probe.read(pid);
    const { id, req, staging } = prepareVolume(dir, NQN_PREFIX, 'ext4');
    const cyclesStarted = process.hrtime.bigint();
    for (let i = 0; i < cycles; i++) {
      await client.call('Node', 'NodeStageVolume', req, 60000);
      await client.call('Node', 'NodeUnstageVolume', { volumeId: id, stagingTargetPath: staging }, 60000);
    }
    const cyclesMs = Number(process.hrtime.bigint() - cyclesStarted) / 1e6;
    await sleep(1000);
    const after = memoryOf(pid);
    return {
      cycles,
      nodeOptions,
      startMs,
      startupRssBytes: startup,
      idleRssBytes: idle,
      settleMs,
      afterCyclesRssBytes: after.rssBytes,
      peakRssBytes: after.peakRssBytes,
      cyclesMs,
      floorRssBytes: floor[1],
      bareNodeRssBytes: bare[1],
      floorStartupRssBytes: floor[0],
      bareNodeStartupRssBytes: bare[0],
      modules: modules.length,
      packages: new Set(modules.map(packageOf).filter((p) => p !== undefined)).size,
      goals: GOALS,
    };
  } finally {
    client.close();
    child.kill('SIGTERM');
    await exited;
    removeDirSafely(dir);
  }
}

export function printNodeRss(results: NodeRssResult[]): void {
  console.log(`\n(m) Node plugin footprint: a real rds-csi node process (loop connector), ${results[0]?.cycles ?? 0} NodeStage/NodeUnstage cycles`);
  const done = results.filter((r) => !r.skipped && r.idleRssBytes !== undefined && r.afterCyclesRssBytes !== undefined);
  for (const r of results) if (r.skipped) console.log(`skipped (${r.nodeOptions || 'plain node'}): ${r.skipped}`);
  if (!done.length) return;
  const rss = (b: number | undefined): string => (b === undefined ? '-' : `${mib(b)} MiB`);
  console.log(
    table(
      ['', ...done.map((r) => (r.nodeOptions ? `NODE_OPTIONS=${r.nodeOptions} (chart)` : 'plain node')), 'goal'],
      [
        ['RSS 3 s after ready (start-up)', ...done.map((r) => rss(r.startupRssBytes)), ''],
        [
          `RSS idle, settled (${(done[0].settleMs ?? 0) / 1000} s after ready)`,
          ...done.map((r) => rss(r.idleRssBytes)),
          `<= ${GOALS.idleRssMiB} MiB`,
        ],
        [`RSS after ${done[0].cycles} stage/unstage`, ...done.map((r) => rss(r.afterCyclesRssBytes)), `<= ${GOALS.afterCyclesRssMiB} MiB`],
        [
          'floor: grpc-js serving the 2 CSI services + pino + prom-client, 3 s / settled',
          ...done.map((r) => `${rss(r.floorStartupRssBytes)} / ${rss(r.floorRssBytes)}`),
          '',
        ],
        ['a bare node process, 3 s / settled', ...done.map((r) => `${rss(r.bareNodeStartupRssBytes)} / ${rss(r.bareNodeRssBytes)}`), ''],
        ['modules loaded (packages)', ...done.map((r) => `${r.modules ?? '?'} (${r.packages ?? '?'})`), ''],
        ['start to socket ready', ...done.map((r) => `${(r.startMs ?? 0).toFixed(0)} ms`), ''],
        [`${done[0].cycles} stage/unstage cycles took`, ...done.map((r) => `${((r.cyclesMs ?? 0) / 1000).toFixed(1)} s`), ''],
      ],
    ),
  );
}
