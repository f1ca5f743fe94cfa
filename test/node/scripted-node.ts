import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseNodeOptions } from '../../src/config/load';
import type { Failure } from '../../src/domain/failure';
import { splitDev } from '../../src/host/fs';
import { MountTable, type MountEntry } from '../../src/host/mountinfo';
import type { HostPort } from '../../src/host/port';
import type { ToolResult } from '../../src/host/run';
import { Sysfs } from '../../src/host/sysfs';
import { createLogger } from '../../src/log/logger';
import type { NodeDeps } from '../../src/node/deps';
import { mounter } from '../../src/node/mounter';
import { nodeTopology } from '../../src/node/node-topology';
import { NvmeTcpConnector } from '../../src/node/nvme-connector';
import { VolumeLocks } from '../../src/node/volume-lock';
import { FakeSysfs } from './fake-sysfs';

/**
 * The node's dependencies for the in-process decision tests of publish.ts and unstage.ts (issue 19 item 2): a fake
 * NVMe sysfs with real device nodes (mknod, never opened: fake-sysfs.ts), the real NvmeTcpConnector, mounter and
 * locks, and a scripted host whose mount table is a list that the scripted `mount`/`umount` change as the kernel
 * would (a bind shows the source's device numbers). Nothing on this machine is mounted; target and staging paths
 * are real directories under a temp kubelet dir. Every tool call is recorded; the logger's lines are captured.
 */

export const P = 'nqn.2026-11.com.mikrotik.rds-csi';

/** What a scripted tool answers: a clean exit with no output unless it says otherwise. */
export type Reply = Partial<Pick<ToolResult, 'code' | 'stderr' | 'stdout' | 'timedOut'>>;

/** The ToolResult of a scripted call of `command` that answered `r`. */
export function toolResult(command: string, args: readonly string[], r: Reply, durationMs: number): ToolResult {
  return {
    command,
    args,
    code: r.code ?? 0,
    signal: null,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    timedOut: r.timedOut ?? false,
    durationMs,
  };
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

export interface ScriptedNode {
  d: NodeDeps;
  f: FakeSysfs;
  /** The kubelet dir (real path). */
  k: string;
  calls: string[];
  table: MountEntry[];
  logs: LogLine[];
  /** Answers of tools other than mount/umount/nvme disconnect (blkid, dd, resize2fs, mknod...): default exit 0. */
  reply: (cmd: string, args: readonly string[]) => Reply;
  /** Called on every read of the mount table (to change it between two reads, as another actor would). */
  onMounts?: () => void;
  mountEntry(mountPoint: string, major: number, minor: number, over?: Partial<MountEntry>): MountEntry;
  cleanup(): void;
}

let ids = 1000;

export function scriptedNode(): ScriptedNode {
  const f = new FakeSysfs();
  const k = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'rds-csi-kubelet-')));
  const logs: LogLine[] = [];
  const calls: string[] = [];
  const table: MountEntry[] = [];
  const mountEntry = (mountPoint: string, major: number, minor: number, over: Partial<MountEntry> = {}): MountEntry => ({
    mountId: ids++,
    parentId: 1,
    major,
    minor,
    root: '/',
    mountPoint,
    options: ['rw'],
    optional: [],
    fsType: 'ext4',
    source: path.join(f.dev, `nvme${minor}n1`),
    superOptions: ['rw'],
    ...over,
  });
  const s: ScriptedNode = {
    d: undefined as unknown as NodeDeps,
    f,
    k,
    calls,
    table,
    logs,
    reply: () => ({}),
    mountEntry,
    cleanup: () => {
      rmSync(f.root, { recursive: true, force: true });
      rmSync(k, { recursive: true, force: true }); // plain files and dirs only: nothing is mounted here
    },
  };
  const top = (p: string): MountEntry | undefined => table.filter((e) => e.mountPoint === p).pop();
  /** What the kernel would do for a successful mount/umount. */
  const apply = (cmd: string, a: readonly string[]): void => {
    if (cmd === 'umount') {
      const at = table.map((e) => e.mountPoint).lastIndexOf(a[0] ?? '');
      if (at >= 0) table.splice(at, 1);
    } else if (cmd === 'mount' && a[0] === '--bind') {
      const src = top(a[1] ?? '');
      if (src) table.push({ ...src, mountId: ids++, mountPoint: a[2] ?? '' });
    } else if (cmd === 'mount' && a[0] === '-o' && a[1]?.startsWith('remount,bind')) {
      const t = top(a[2] ?? '');
      if (t) t.options = a[1].split(',').includes('ro') ? ['ro'] : ['rw'];
    } else if (cmd === 'mount' && a[0] === '-t') {
      const [source, target] = a.slice(-2) as [string, string];
      const { major, minor } = splitDev(statSync(source, { bigint: true }).rdev);
      table.push(mountEntry(target, major, minor, { fsType: a[1] ?? '', source }));
    }
  };
  const host: HostPort = {
    sysfs: new Sysfs(f.sys),
    devRoot: f.dev,
    mounts: () => {
      s.onMounts?.();
      return Promise.resolve(new MountTable([...table]));
    },
    run: (command, args, opts) => {
      calls.push([command, ...args].join(' '));
      if (command === 'mknod') execFileSync('mknod', args); // a real device node under the temp kubelet dir (never opened)
      const r = command === 'mount' || command === 'umount' || command === 'nvme' || command === 'mknod' ? {} : s.reply(command, args);
      if ((r.code ?? 0) === 0 && !r.timedOut) apply(command, args);
      return Promise.resolve(toolResult(command, args, r, opts.timeoutMs));
    },
  };
  const connector = new NvmeTcpConnector({
    host,
    nqnPrefix: P,
    hostNqn: 'nqn.2014-08.org.nvmexpress:uuid:x',
    nvmeCommand: 'nvme',
    toolTimeoutMs: 1000,
  });
  const log = createLogger('debug', 'test', { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  s.d = {
    opts: parseNodeOptions({ nodeId: 'n', kubeletDir: k }),
    nqnPrefix: P,
    host,
    connector,
    mounter: mounter(host),
    locks: new VolumeLocks(0),
    log,
    topology: nodeTopology('rds.csi.mikrotik.com', 'default', ''),
  };
  return s;
}

/** mkdir -p under the kubelet dir; returns the path. */
/**
 * The two volumes the decision tests use, in the fake NVMe sysfs: vol-a (nvme0n1, 259:0) and vol-b (nvme3n1, 259:3),
 * each 4 MiB; their staging path mounted from vol-a's device. Returns vol-a's device node and that staging path.
 */
export function withVolumesAB(s: ScriptedNode): { devA: string; staging: string } {
  s.f.subsystem(0, `${P}:vol-a`).controller(0, `${P}:vol-a`);
  s.f.namespace(0, 0, 1, { major: 259, minor: 0, sectors: 8192 });
  s.f.subsystem(3, `${P}:vol-b`).controller(1, `${P}:vol-b`);
  s.f.namespace(3, 1, 1, { major: 259, minor: 3, sectors: 8192 });
  const devA = path.join(s.f.dev, 'nvme0n1');
  const staging = dirAt(s.k, 'plugins/kubernetes.io/csi/rds/abc/globalmount');
  s.table.push(s.mountEntry(staging, 259, 0, { source: devA }));
  return { devA, staging };
}

export function dirAt(k: string, ...rel: string[]): string {
  const p = path.join(k, ...rel);
  mkdirSync(p, { recursive: true });
  return p;
}

/** The kind and message of a rejected call (a resolved one fails the test). */
export function failure(p: Promise<unknown>): Promise<[string, string]> {
  return p.then(
    (v) => {
      throw new Error(`resolved with ${JSON.stringify(v)}`);
    },
    (e: Failure) => [e.kind, e.message],
  );
}
