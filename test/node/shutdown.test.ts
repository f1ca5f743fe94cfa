import { chmodSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MountTable } from '../../src/host/mountinfo';
import type { HostPort } from '../../src/host/port';
import type { ToolResult, ToolRunner } from '../../src/host/run';
import { runTool } from '../../src/host/run';
import { Sysfs } from '../../src/host/sysfs';
import { nodeSchema } from '../../src/config/schema';
import { createLogger } from '../../src/log/logger';
import { lowerCtrlLossTmo } from '../../src/node/shutdown';
import { nodeShutdownSignal, parseVariant } from '../../src/node/shutdown-signal';
import { nodeShutdown } from '../../src/runtime/node-shutdown';
import { FakeSysfs } from './fake-sysfs';

/**
 * Safe node shutdown (issue 15 item 1) against a fake sysfs tree: only controllers under the managed NQN prefix get
 * the lower ctrl_loss_tmo — never the boot disk, another driver or a prefix look-alike — never raised, idempotent,
 * clear errors; and the gate: only a node shutdown reported by logind/systemd lowers it, a pod restart keeps −1.
 */

const P = 'nqn.2026-11.com.mikrotik.rds-csi';
const log = createLogger('silent');

const MANAGED = [`${P}:vol-live`, `${P}:vol-reconnecting`];
const UNMANAGED = ['nqn.2014-08.org.example:boot-disk', 'nqn.2020-01.io.other-driver:pvc-1', `${P}x:vol-1`, `${P}-legacy:vol-2`, P];

function tree(): { f: FakeSysfs; sysfs: Sysfs; attr: (ctrl: number) => string; set: (ctrl: number, v: string) => void } {
  const f = new FakeSysfs();
  f.subsystem(0, MANAGED[0]).controller(0, MANAGED[0], 'live');
  // one subsystem, two paths, both reconnecting (the RDS unreachable)
  f.subsystem(1, MANAGED[1]).controller(1, MANAGED[1], 'connecting').controller(2, MANAGED[1], 'connecting');
  UNMANAGED.forEach((nqn, i) => f.subsystem(10 + i, nqn).controller(10 + i, nqn, 'connecting'));
  const file = (ctrl: number): string => path.join(f.sys, `class/nvme/nvme${ctrl}/ctrl_loss_tmo`);
  return {
    f,
    sysfs: new Sysfs(f.sys),
    attr: (ctrl) => readFileSync(file(ctrl), 'utf8').trim(),
    set: (ctrl, v) => writeFileSync(file(ctrl), `${v}\n`),
  };
}

describe('lowerCtrlLossTmo', () => {
  let t: ReturnType<typeof tree>;
  beforeEach(() => (t = tree()));
  afterEach(() => rmSync(t.f.root, { recursive: true, force: true }));

  it('lowers every managed controller (each path) and touches no other, prefix look-alikes included', async () => {
    const r = await lowerCtrlLossTmo(t.sysfs, P, 10);
    expect(r.lowered.map((c) => [c.controller, c.nqn, c.before, c.after])).toEqual([
      ['nvme0', MANAGED[0], 'off', '10'],
      ['nvme1', MANAGED[1], 'off', '10'],
      ['nvme2', MANAGED[1], 'off', '10'],
    ]);
    expect(r.failed).toEqual([]);
    expect(r.unmanaged).toBe(UNMANAGED.length);
    for (const c of [0, 1, 2]) expect(t.attr(c)).toBe('10');
    UNMANAGED.forEach((_, i) => expect(t.attr(10 + i)).toBe('off'));
  });

  it.each([
    ['forever (off)', 'off', '10', 'lowered'],
    ['-1', '-1', '10', 'lowered'],
    ['longer than the bound', '600', '10', 'lowered'],
    ['at the bound', '10', '10', 'unchanged'],
    ['below the bound (never raised)', '4', '4', 'unchanged'],
    ['zero', '0', '0', 'unchanged'],
  ])('a managed controller at %s', async (_what, before, after, outcome) => {
    t.set(0, before);
    const r = await lowerCtrlLossTmo(t.sysfs, P, 10);
    expect(t.attr(0)).toBe(after);
    const bucket = outcome === 'lowered' ? r.lowered : r.unchanged;
    expect(bucket.find((c) => c.controller === 'nvme0')?.before).toBe(before);
  });

  it('is idempotent: a second run changes nothing and reports every managed controller unchanged', async () => {
    await lowerCtrlLossTmo(t.sysfs, P, 10);
    const again = await lowerCtrlLossTmo(t.sysfs, P, 10);
    expect(again.lowered).toEqual([]);
    expect(again.unchanged.map((c) => c.controller)).toEqual(['nvme0', 'nvme1', 'nvme2']);
    for (const c of [0, 1, 2]) expect(t.attr(c)).toBe('10');
  });

  it('names a controller without the attribute (old kernel) and still lowers the others', async () => {
    unlinkSync(path.join(t.f.sys, 'class/nvme/nvme1/ctrl_loss_tmo'));
    const r = await lowerCtrlLossTmo(t.sysfs, P, 10);
    expect(r.failed).toEqual([{ controller: 'nvme1', nqn: MANAGED[1], error: expect.stringMatching(/no ctrl_loss_tmo attribute/) as string }]);
    expect(r.lowered.map((c) => c.controller)).toEqual(['nvme0', 'nvme2']);
  });

  it('reports a write the kernel refuses as failed with its error, not a crash', async () => {
    if (process.getuid?.() === 0) {
      // root writes through file modes: a directory in place of the attribute makes the write fail (EISDIR)
      unlinkSync(path.join(t.f.sys, 'class/nvme/nvme0/ctrl_loss_tmo'));
      mkdirSync(path.join(t.f.sys, 'class/nvme/nvme0/ctrl_loss_tmo'));
    } else chmodSync(path.join(t.f.sys, 'class/nvme/nvme0/ctrl_loss_tmo'), 0o444);
    const r = await lowerCtrlLossTmo(t.sysfs, P, 10);
    expect(r.failed.map((c) => c.controller)).toEqual(['nvme0']);
    expect(r.failed[0].error).toMatch(/EISDIR|EACCES/);
    expect(r.lowered.map((c) => c.controller)).toEqual(['nvme1', 'nvme2']);
  });

  it.each([-1, 1.5, Number.NaN])('refuses a bound of %p', async (bound) => {
    await expect(lowerCtrlLossTmo(t.sysfs, P, bound)).rejects.toThrow(/integer >= 0/);
  });
});

// ---- the gate: node shutdown or pod restart ---------------------------------------------------------------------------
const result = (stdout: string, code = 0, extra: Partial<ToolResult> = {}): ToolResult => ({
  command: 'dbus-send',
  args: [],
  code,
  signal: null,
  stdout,
  stderr: code ? 'Error org.freedesktop.DBus.Error.ServiceUnknown: no such name' : '',
  timedOut: false,
  durationMs: 1,
  ...extra,
});

/** A D-Bus answering logind's and systemd's questions; `undefined` = that service does not answer. */
function bus(logind: ToolResult | Error | undefined, systemd: ToolResult | Error | undefined, calls: string[][] = []): ToolRunner {
  return (_cmd, args) => {
    calls.push([...args]);
    const a = args.some((x) => x.includes('login1')) ? logind : systemd;
    if (a instanceof Error) return Promise.reject(a);
    return Promise.resolve(a ?? result('', 1));
  };
}

const TRUE = result('method return time=1 sender=:1.3 -> destination=:1.9 serial=5 reply_serial=2\n   variant       boolean true\n');
const FALSE = result('method return time=1 sender=:1.3 -> destination=:1.9 serial=5 reply_serial=2\n   variant       boolean false\n');
const state = (s: string): ToolResult =>
  result(`method return time=1 sender=org.freedesktop.systemd1 serial=7 reply_serial=1\n   variant       string "${s}"\n`);

describe('node shutdown signal (logind / systemd over D-Bus)', () => {
  const opts = { dbusSend: 'dbus-send', systemBus: '/host/run/dbus/system_bus_socket', systemdPrivate: '/host/run/systemd/private', timeoutMs: 2000 };

  it.each([
    ['kubelet graceful shutdown (logind PreparingForShutdown)', true, TRUE, state('running')],
    ['systemd stopping (no graceful shutdown configured)', true, FALSE, state('stopping')],
    ['logind gone, systemd stopping', true, undefined, state('stopping')],
    ['pod restart on a running node', false, FALSE, state('running')],
    ['pod restart on a degraded node', false, FALSE, state('degraded')],
    ['node still starting', false, FALSE, state('starting')],
    ['no bus at all (socket not mounted)', false, undefined, undefined],
    [
      'dbus-send not installed',
      false,
      new Error('cannot run dbus-send: spawn dbus-send ENOENT'),
      new Error('cannot run dbus-send: spawn dbus-send ENOENT'),
    ],
    ['timed out', false, result('', null as unknown as number, { timedOut: true }), result('', null as unknown as number, { timedOut: true })],
    ['unexpected reply', false, result('garbage'), result('variant uint32 3')],
  ] as const)('%s → shutting down: %p', async (_what, expected, logind, systemd) => {
    const s = await nodeShutdownSignal({ ...opts, run: bus(logind, systemd) });
    expect(s.shuttingDown).toBe(expected);
    expect(s.reason).toMatch(/logind PreparingForShutdown/);
  });

  it('asks logind on the system bus and systemd on its private socket, each bounded', async () => {
    const calls: string[][] = [];
    await nodeShutdownSignal({ ...opts, run: bus(FALSE, state('running'), calls) });
    expect(calls[0]).toEqual(
      expect.arrayContaining(['--bus=unix:path=/host/run/dbus/system_bus_socket', '--dest=org.freedesktop.login1', 'string:PreparingForShutdown']),
    );
    expect(calls[1]).toEqual(
      expect.arrayContaining(['--peer=unix:path=/host/run/systemd/private', 'string:org.freedesktop.systemd1.Manager', 'string:SystemState']),
    );
    expect(calls.every((c) => c.includes('--print-reply') && c.some((x) => /^--reply-timeout=\d+$/.test(x)))).toBe(true);
  });

  it('parses dbus-send replies', () => {
    expect(parseVariant('   variant       boolean true')).toBe(true);
    expect(parseVariant('   variant       boolean false')).toBe(false);
    expect(parseVariant('   variant       string "stopping"')).toBe('stopping');
    expect(parseVariant('')).toBeUndefined();
  });
});

describe('nodeShutdown: the preStop hook / SIGTERM path', () => {
  let t: ReturnType<typeof tree>;
  beforeEach(() => (t = tree()));
  afterEach(() => rmSync(t.f.root, { recursive: true, force: true }));
  const host = (run: ToolRunner): HostPort => ({ run, sysfs: t.sysfs, devRoot: t.f.dev, mounts: () => Promise.resolve(new MountTable([])) });
  const node = nodeSchema.parse({ shutdown: { ctrlLossTmo: 7 } });

  it('a pod restart or upgrade (node running) leaves ctrl_loss_tmo at -1 on every controller', async () => {
    const r = await nodeShutdown(node, P, host(bus(FALSE, state('running'))), { onlyIfShuttingDown: true }, log);
    expect(r.action).toBe('skipped');
    for (const c of [0, 1, 2]) expect(t.attr(c)).toBe('off');
  });

  it('a node shutdown lowers the managed controllers to the configured bound', async () => {
    const r = await nodeShutdown(node, P, host(bus(TRUE, state('running'))), { onlyIfShuttingDown: true }, log);
    expect(r.action).toBe('lowered');
    for (const c of [0, 1, 2]) expect(t.attr(c)).toBe('7');
    UNMANAGED.forEach((_, i) => expect(t.attr(10 + i)).toBe('off'));
  });

  it('asked explicitly (rds-csi node shutdown) it does not ask D-Bus', async () => {
    const calls: string[][] = [];
    const r = await nodeShutdown(node, P, host(bus(FALSE, state('running'), calls)), { onlyIfShuttingDown: false }, log);
    expect(r.action).toBe('lowered');
    expect(calls).toEqual([]);
    expect(t.attr(1)).toBe('7');
  });

  it('through the real tool runner: a missing dbus-send keeps -1', async () => {
    const missing = nodeSchema.parse({ shutdown: { dbusSend: '/nonexistent/dbus-send' } });
    const r = await nodeShutdown(missing, P, host(runTool), { onlyIfShuttingDown: true }, log);
    expect(r.action).toBe('skipped');
    expect(r.reason).toMatch(/unknown/);
    expect(t.attr(0)).toBe('off');
  });
});
