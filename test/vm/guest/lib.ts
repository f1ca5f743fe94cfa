/**
 * Shared pieces of the VM scenario drivers (test/vm/guest/*.ts, compiled to dist/test/vm/guest/, run inside the VM
 * by test/vm/scenarios/*.sh): checks printed as "@@ PASS/FAIL" lines, the node plugin as a child process (start,
 * SIGKILL, restart), a CSI client like kubelet's, host views (mountinfo, controllers and devices by NQN through
 * sysfs), the kernel target through configfs (export, outage, namespace enable, resize) and data helpers.
 *
 * Heavy modules (grpc) load lazily, so a driver can start the plugin first and let both load in parallel.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { CsiGrpcClient } from '../../../src/grpc/client';
import { parseMountInfo } from '../../../src/host/mountinfo';

export const PREFIX = 'nqn.2026-11.com.mikrotik.rds-csi';
export const PROJECT = process.env.PROJECT ?? '/host';
export const RESULTS = process.env.RESULTS ?? '/results';
/** kubelet's root dir in the guest: every staging and target path below is under it (src/node/confine.ts). */
export const KUBELET_DIR = '/var/lib/kubelet';
export const MAIN = path.join(PROJECT, 'dist/src/cli/main.js');
export const BACKING_DIR = '/var/lib/rds-csi-vm';
export const NVMET = '/sys/kernel/config/nvmet';
export const MiB = 1024 * 1024;

// ---- checks ------------------------------------------------------------------------------------------------------------
const t0 = Date.now();
let fails = 0;
let passes = 0;
export const elapsed = (from = t0): string => ((Date.now() - from) / 1000).toFixed(2);
export const log = (msg: string): void => console.log(`@@ [node ${elapsed()}] ${msg}`);
export function check(what: string, ok: boolean, detail = ''): boolean {
  if (ok) passes++;
  else fails++;
  console.log(`@@ ${ok ? 'PASS' : 'FAIL'}: ${what}${detail ? ` (${detail})` : ''}`);
  return ok;
}
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every `everyMs` until it holds or `ms` pass; answers whether it held. */
export async function waitFor(ms: number, cond: () => boolean | Promise<boolean>, everyMs = 100): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await cond()) return true;
    } catch {
      /* not yet */
    }
    if (Date.now() >= end) return false;
    await sleep(everyMs);
  }
}

/** Runs the scenario's main, prints the summary, exits with the number of failures (0 = passed). */
export function runMain(name: string, main: () => Promise<void>, cleanup?: () => Promise<void> | void): void {
  main()
    .catch((err: unknown) => check(`${name} driver ran to the end`, false, (err as Error).stack ?? String(err)))
    .then(async () => {
      try {
        await cleanup?.();
      } catch (err) {
        log(`cleanup: ${(err as Error).message}`);
      }
      log(`${name}: ${passes} passed, ${fails} failed`);
      process.exit(Math.min(fails, 100));
    })
    .catch(() => process.exit(101));
}

// ---- processes -------------------------------------------------------------------------------------------------------
export function sh(cmd: string, args: string[], timeoutMs = 60000): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
}

/**
 * `nvme connect` without nvme-cli: the option string written to /dev/nvme-fabrics, as nvme-cli does. Needed where
 * bookworm's nvme-cli 2.3 falls short: it has no fast_io_fail_tmo option, and it answers "already connected" for a
 * second host NQN on the same subsystem and port even with --duplicate-connect.
 */
export function fabricsConnect(
  nqn: string,
  hostNqn: string,
  extra: Record<string, string | number | true> = {},
  addr = '127.0.0.1',
  port = 4420,
): { ok: boolean; out: string } {
  const opts: Record<string, string | number | true> = {
    transport: 'tcp',
    traddr: addr,
    trsvcid: port,
    nqn,
    hostnqn: hostNqn,
    ctrl_loss_tmo: -1,
    reconnect_delay: 1,
    ...extra,
  };
  const text = Object.entries(opts)
    .map(([k, v]) => (v === true ? k : `${k}=${v}`))
    .join(',');
  let fd: number | undefined;
  try {
    fd = openSync('/dev/nvme-fabrics', 'r+');
    writeSync(fd, text);
    const buf = Buffer.alloc(256);
    const n = readSync(fd, buf, 0, buf.length, null);
    return { ok: true, out: buf.subarray(0, n).toString().trim() };
  } catch (err) {
    return { ok: false, out: `${text}: ${(err as Error).message}` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function dropCaches(): void {
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    /* best effort */
  }
}

export interface PluginOptions {
  /** Socket path (unix). */
  socket?: string;
  nodeId?: string;
  hostNqn?: string;
  /** Log file under RESULTS (appended: restarts go to the same file). */
  logName?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
}

/** `rds-csi node --connector nvme-tcp` as a child process: started, killed (any signal), restarted. */
export class Plugin {
  readonly socket: string;
  readonly endpoint: string;
  private child?: ChildProcess;
  private exited?: Promise<void>;
  starts = 0;
  lastStartSeconds = 0;
  private grpc?: CsiGrpcClient;

  constructor(readonly o: PluginOptions = {}) {
    this.socket = o.socket ?? '/run/csi/csi.sock';
    this.endpoint = `unix://${this.socket}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Spawns the plugin; `ready()` waits for it. */
  spawn(): void {
    const logFile = path.join(RESULTS, this.o.logName ?? 'node-plugin.log');
    const fd = openSync(logFile, 'a');
    writeSync(fd, `{"vm":"--- start ${++this.starts} at ${elapsed()} s ---"}\n`);
    // The plugin acts only under kubelet's dir (default /var/lib/kubelet), which must exist as on a real node.
    mkdirSync(KUBELET_DIR, { recursive: true });
    const args = [
      MAIN,
      'node',
      '--endpoint',
      this.endpoint,
      '--node-id',
      this.o.nodeId ?? 'vm1',
      '--connector',
      'nvme-tcp',
      '--nqn-prefix',
      PREFIX,
      '--kubelet-dir',
      KUBELET_DIR,
      '--log-level',
      'debug',
    ];
    if (this.o.hostNqn) args.push('--hostnqn', this.o.hostNqn);
    args.push(...(this.o.extraArgs ?? []));
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, NODE_OPTIONS: '--enable-source-maps', ...this.o.env },
    });
    closeSync(fd);
    this.child = child;
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }

  /** Waits until the plugin answers GetPluginInfo on its socket. */
  async ready(timeoutMs = 90000): Promise<boolean> {
    const t = Date.now();
    const ok = await waitFor(
      timeoutMs,
      async () => {
        if (!this.running()) return false;
        if (!existsSync(this.socket)) return false;
        await (await this.client()).call('Identity', 'GetPluginInfo', {}, 5000);
        return true;
      },
      200,
    );
    this.lastStartSeconds = (Date.now() - t) / 1000;
    return ok;
  }

  async start(timeoutMs = 90000): Promise<boolean> {
    const t = Date.now();
    this.spawn();
    const ok = await this.ready(timeoutMs);
    this.lastStartSeconds = (Date.now() - t) / 1000;
    return ok;
  }

  running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends the signal and waits (bounded) until the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL', waitMs = 20000): Promise<boolean> {
    this.closeClient();
    if (!this.child || !this.running()) return true;
    this.child.kill(signal);
    const exited = this.exited;
    await Promise.race([exited, sleep(waitMs)]);
    return !this.running();
  }

  async client(): Promise<CsiGrpcClient> {
    if (!this.grpc) {
      const { CsiGrpcClient: C } = await import('../../../src/grpc/client');
      this.grpc = new C(this.endpoint);
    }
    return this.grpc;
  }

  closeClient(): void {
    this.grpc?.close();
    this.grpc = undefined;
  }

  /** One RPC; answers the response, or the error (code and details). Nothing is checked. */
  async call<T>(
    service: 'Identity' | 'Node',
    method: string,
    req: object,
    timeoutMs = 120000,
  ): Promise<{ res?: T; code?: number; details?: string; ms: number }> {
    const t = Date.now();
    try {
      const res = await (await this.client()).call<T>(service, method, req, timeoutMs);
      return { res, ms: Date.now() - t };
    } catch (err) {
      const e = err as { code?: number; details?: string; message?: string };
      return { code: e.code ?? -1, details: e.details ?? e.message ?? String(err), ms: Date.now() - t };
    }
  }

  /** One RPC checked to succeed (or to fail with `expectCode`). */
  async rpc<T>(method: string, req: object, what = method, expectCode?: number, timeoutMs = 120000): Promise<T | undefined> {
    const service = ['GetPluginInfo', 'Probe', 'GetPluginCapabilities'].includes(method) ? 'Identity' : 'Node';
    const r = await this.call<T>(service, method, req, timeoutMs);
    if (expectCode === undefined) check(`${what} ok`, r.code === undefined, r.code === undefined ? `${r.ms} ms` : `code ${r.code}: ${r.details}`);
    else
      check(
        `${what} fails with code ${expectCode}`,
        r.code === expectCode,
        r.code === undefined ? 'succeeded' : `code ${r.code}: ${r.details}; ${r.ms} ms`,
      );
    return r.res;
  }
}

// ---- CSI requests ---------------------------------------------------------------------------------------------------------
export interface Volume {
  volumeId: string;
  nqn: string;
  staging: string;
  target: string;
  stageReq: Record<string, unknown>;
  pubReq: Record<string, unknown>;
}

/** The requests kubelet sends for a volume (volume_context as the controller sets it). */
export function volume(
  volumeId: string,
  kind: 'ext4' | 'xfs' | 'block',
  extraContext: Record<string, string> = {},
  port = 4420,
  address = '127.0.0.1',
): Volume {
  const nqn = `${PREFIX}:${volumeId}`;
  const volumeContext = {
    nqn,
    targetAddress: address,
    targetPort: String(port),
    accessType: kind === 'block' ? 'block' : 'mount',
    reconnectDelay: '1',
    ...extraContext,
  };
  const volumeCapability =
    kind === 'block'
      ? { block: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } }
      : { mount: { fsType: kind, mountFlags: [] }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };
  const staging = `/var/lib/kubelet/plugins/kubernetes.io/csi/rds.csi.mikrotik.com/${volumeId}/globalmount`;
  const target =
    kind === 'block'
      ? `/var/lib/kubelet/pods/pod-${volumeId}/volumeDevices/kubernetes.io~csi/${volumeId}`
      : `/var/lib/kubelet/pods/pod-${volumeId}/volumes/kubernetes.io~csi/${volumeId}/mount`;
  const stageReq = { volumeId, stagingTargetPath: staging, volumeCapability, volumeContext };
  return { volumeId, nqn, staging, target, stageReq, pubReq: { ...stageReq, targetPath: target } };
}

export interface Stats {
  usage: Array<{ unit: string; total: string; used: string; available: string }>;
  volumeCondition?: { abnormal: boolean; message: string };
}

// ---- host views -------------------------------------------------------------------------------------------------------------
export const readSys = (p: string): string | undefined => {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
};

export interface Mount {
  mountPoint: string;
  fsType: string;
  source: string;
  options: string;
  dev: string;
}

/** The live mount table, parsed by the node plugin's own mountinfo parser (src/host/mountinfo.ts). */
export function mounts(): Mount[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')).map((e) => ({
    dev: `${e.major}:${e.minor}`,
    mountPoint: e.mountPoint,
    options: e.options.join(','),
    fsType: e.fsType,
    source: e.source,
  }));
}

export const mountAt = (p: string): Mount | undefined =>
  mounts()
    .filter((m) => m.mountPoint === p)
    .pop();
export const mountCount = (p: string): number => mounts().filter((m) => m.mountPoint === p).length;

/** Controllers (nvmeY) connected to the NQN. */
export function controllers(nqn: string): string[] {
  let names: string[];
  try {
    names = readdirSync('/sys/class/nvme');
  } catch {
    return [];
  }
  return names.filter((c) => readSys(`/sys/class/nvme/${c}/subsysnqn`) === nqn).sort();
}

export const ctrlState = (ctrl: string): string | undefined => readSys(`/sys/class/nvme/${ctrl}/state`);
export const hostNqnOf = (ctrl: string): string | undefined => readSys(`/sys/class/nvme/${ctrl}/hostnqn`);

/** The visible namespace disk of the NQN (nvmeXnY, never a hidden nvmeXcYnZ path), with a non-zero size. */
export function deviceOf(nqn: string): string | undefined {
  const b = readdirSync('/sys/block').find(
    (n) => /^nvme\d+n\d+$/.test(n) && readSys(`/sys/block/${n}/device/subsysnqn`) === nqn && readSys(`/sys/block/${n}/size`) !== '0',
  );
  return b ? `/dev/${b}` : undefined;
}

/** "major:minor" of a block device, from sysfs. */
export const devNumbers = (dev: string): string | undefined => readSys(`/sys/block/${path.basename(dev)}/dev`);
export const devSizeBytes = (dev: string): number => Number(readSys(`/sys/block/${path.basename(dev)}/size`) ?? '0') * 512;

/** "major:minor" of a device node (block special file) at `p`. */
export function nodeNumbers(p: string): string | undefined {
  try {
    const st = lstatSync(p, { bigint: true });
    if (!st.isBlockDevice()) return undefined;
    const rdev = st.rdev;
    const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
    const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
    return `${major}:${minor}`;
  } catch {
    return undefined;
  }
}

// ---- target (nvmet through configfs) -------------------------------------------------------------------------------------
/** A TCP port (created once); the listener starts when the first subsystem is linked into it. */
export function nvmetPort(id: number, addr = '127.0.0.1', svcid = 4420): void {
  const p = `${NVMET}/ports/${id}`;
  if (existsSync(p)) return;
  mkdirSync(p);
  writeFileSync(`${p}/addr_trtype`, 'tcp');
  writeFileSync(`${p}/addr_adrfam`, 'ipv4');
  writeFileSync(`${p}/addr_traddr`, addr);
  writeFileSync(`${p}/addr_trsvcid`, String(svcid));
}

/** A subsystem with FILE (sparse, SIZE bytes) as namespace 1, linked into port 1 (127.0.0.1:4420). */
export function nvmetExport(
  nqn: string,
  sizeBytes: number,
  hosts: string[] = [],
  file = path.join(BACKING_DIR, `${nqn.replace(/[^A-Za-z0-9.-]/g, '_')}.img`),
): string {
  mkdirSync(path.dirname(file), { recursive: true });
  if (!existsSync(file)) sh('truncate', ['-s', String(sizeBytes), file]);
  const sub = `${NVMET}/subsystems/${nqn}`;
  mkdirSync(sub);
  writeFileSync(`${sub}/attr_allow_any_host`, hosts.length ? '0' : '1');
  for (const h of hosts) nvmetAllowHost(nqn, h);
  mkdirSync(`${sub}/namespaces/1`);
  writeFileSync(`${sub}/namespaces/1/device_path`, file);
  writeFileSync(`${sub}/namespaces/1/buffered_io`, '0');
  writeFileSync(`${sub}/namespaces/1/enable`, '1');
  nvmetPort(1);
  nvmetLink(nqn);
  return file;
}

export function nvmetAllowHost(nqn: string, host: string): void {
  if (!existsSync(`${NVMET}/hosts/${host}`)) mkdirSync(`${NVMET}/hosts/${host}`);
  symlinkSync(`${NVMET}/hosts/${host}`, `${NVMET}/subsystems/${nqn}/allowed_hosts/${host}`);
}

export const nvmetLink = (nqn: string, port = 1): void => symlinkSync(`${NVMET}/subsystems/${nqn}`, `${NVMET}/ports/${port}/subsystems/${nqn}`);
export const nvmetUnlink = (nqn: string, port = 1): void => unlinkSync(`${NVMET}/ports/${port}/subsystems/${nqn}`);
export const nvmetNsEnable = (nqn: string, on: boolean): void => writeFileSync(`${NVMET}/subsystems/${nqn}/namespaces/1/enable`, on ? '1' : '0');

export function nvmetUnexport(nqn: string): void {
  const sub = `${NVMET}/subsystems/${nqn}`;
  if (!existsSync(sub)) return;
  for (const port of readdirSync(`${NVMET}/ports`))
    if (existsSync(`${NVMET}/ports/${port}/subsystems/${nqn}`)) unlinkSync(`${NVMET}/ports/${port}/subsystems/${nqn}`);
  for (const ns of readdirSync(`${sub}/namespaces`)) {
    writeFileSync(`${sub}/namespaces/${ns}/enable`, '0');
    rmdirSync(`${sub}/namespaces/${ns}`);
  }
  for (const h of readdirSync(`${sub}/allowed_hosts`)) unlinkSync(`${sub}/allowed_hosts/${h}`);
  rmdirSync(sub);
}

// ---- data ------------------------------------------------------------------------------------------------------------------
export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** SHA-256 of a file (or device) read from offset 0 for `len` bytes (whole file when omitted); the error text on failure. */
export function sha256File(p: string, len?: number): string {
  try {
    if (len === undefined) return sha256(readFileSync(p));
    const fd = openSync(p, 'r');
    try {
      const buf = Buffer.alloc(len);
      let off = 0;
      while (off < len) {
        const n = readSync(fd, buf, off, len - off, off);
        if (n <= 0) break;
        off += n;
      }
      return sha256(buf.subarray(0, off));
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

/** Writes `data` to `file` (at `offset` for a device) and fsyncs; the error text on failure. */
export function writeSynced(file: string, data: Buffer, offset?: number): string | undefined {
  try {
    const fd = openSync(file, offset === undefined ? 'w' : 'r+');
    try {
      let off = 0;
      while (off < data.length) off += writeSync(fd, data, off, data.length - off, offset === undefined ? null : offset + off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

export const randomData = (bytes: number): Buffer => randomBytes(bytes);

/**
 * A writer in its own process (so the driver keeps running while the write blocks in the kernel): dd of SRC to DST
 * with fsync at the end. `done` resolves with its exit code.
 */
export function backgroundWrite(
  src: string,
  dst: string,
  extra: string[] = [],
): { done: Promise<number | null>; running: () => boolean; pid?: number } {
  const child = spawn('dd', [`if=${src}`, `of=${dst}`, 'bs=1M', 'conv=fsync', 'status=none', ...extra], { stdio: 'ignore' });
  let exited = false;
  const done = new Promise<number | null>((r) => child.once('exit', (code) => ((exited = true), r(code))));
  return { done, running: () => !exited, pid: child.pid };
}
