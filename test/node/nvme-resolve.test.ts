import { readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { MountTable } from '../../src/host/mountinfo';
import type { HostPort } from '../../src/host/port';
import type { ToolResult, ToolRunner } from '../../src/host/run';
import { Sysfs } from '../../src/host/sysfs';
import { HostError, type VolumeTarget } from '../../src/node/connector';
import { NvmeTcpConnector } from '../../src/node/nvme-connector';
import { nvmeSubsystems } from '../../src/node/nvme-sysfs';
import { FakeSysfs } from './fake-sysfs';
import { IS_ROOT, itIf, ROOT_REASON } from '../support/prereq';

/**
 * NQN → device resolution on a fake sysfs tree: the nvmeXcYnZ rule (the device is nvme<subsystem>n<ns>, not
 * nvme<controller>n<ns>), several controllers of one subsystem, a subsystem whose namespace is gone, a zero-size
 * namespace, and the connector's connect/"already connected"/disconnect decisions with a recording nvme runner.
 */

const P = 'nqn.2026-11.com.mikrotik.rds-csi';
const ROOT_DISK = 'nqn.2014-08.org.example:boot-disk';
const itRoot = itIf(IS_ROOT, ROOT_REASON);

type Call = { cmd: string; args: readonly string[] };

function recorder(onCall?: (c: Call) => Partial<ToolResult> | void): { run: ToolRunner; calls: Call[] } {
  const calls: Call[] = [];
  const run: ToolRunner = (cmd, args) => {
    calls.push({ cmd, args });
    const r = onCall?.({ cmd, args }) ?? {};
    return Promise.resolve({ command: cmd, args, code: 0, signal: null, stdout: '', stderr: '', timedOut: false, durationMs: 1, ...r });
  };
  return { run, calls };
}

function hostOf(f: FakeSysfs, run: ToolRunner): HostPort {
  return { run, sysfs: new Sysfs(f.sys), devRoot: f.dev, mounts: () => Promise.resolve(new MountTable([])) };
}

const target = (id: string): VolumeTarget => ({
  volumeId: id,
  slot: id,
  nqn: `${P}:${id}`,
  address: '10.0.0.1',
  port: 4420,
  params: { ctrlLossTmo: -1, reconnectDelay: 5, keepAliveTmo: 15 },
});

describe('NVMe device resolution from sysfs', () => {
  let f: FakeSysfs;
  beforeEach(() => {
    f = new FakeSysfs();
    // The node's boot disk on the same RDS: subsystem 1, controller 5, so its device is nvme1n1.
    f.subsystem(1, ROOT_DISK).controller(5, ROOT_DISK);
    f.namespace(1, 5, 1, { major: 259, minor: 1, sectors: 2048 });
    // vol-a: subsystem 0 with two controllers (paths), one live, one reconnecting.
    f.subsystem(0, `${P}:vol-a`).controller(0, `${P}:vol-a`).controller(2, `${P}:vol-a`, 'connecting');
    f.namespace(0, 0, 1, { major: 259, minor: 0, sectors: 4096 });
    f.namespace(0, 2, 1, { major: 259, minor: 0, sectors: 4096 });
    // vol-b: subsystem 3 reached through controller 1 → hidden path nvme3c1n1 → device nvme3n1. The naive
    // nvme<controller>n<ns> would be nvme1n1: the boot disk.
    f.subsystem(3, `${P}:vol-b`).controller(1, `${P}:vol-b`);
    f.namespace(3, 1, 1, { major: 259, minor: 3, sectors: 8192 });
    // vol-c: connected, namespace gone (deleted on RDS).
    f.subsystem(4, `${P}:vol-c`).controller(6, `${P}:vol-c`);
    // vol-d: not multipath: the controller's own nvme7n1.
    f.controller(7, `${P}:vol-d`);
    f.namespace(7, 7, 1, { major: 259, minor: 7, sectors: 1024 }, false);
  });
  afterEach(() => rmSync(f.root, { recursive: true, force: true }));

  test('the link state follows the controllers: live if any path is live, else what the kernel says', async () => {
    const c = new NvmeTcpConnector({
      host: hostOf(f, recorder().run),
      nqnPrefix: P,
      hostNqn: 'nqn.2014-08.org.nvmexpress:uuid:x',
      nvmeCommand: 'nvme',
      toolTimeoutMs: 1000,
    });
    expect(await c.linkState(`${P}:vol-a`)).toBe('live'); // one path live, one reconnecting
    f.subsystem(7, `${P}:vol-down`).controller(7, `${P}:vol-down`, 'connecting');
    f.namespace(7, 7, 1, { major: 259, minor: 7, sectors: 4096 });
    expect(await c.linkState(`${P}:vol-down`)).toBe('connecting'); // the target is away: I/O waits
    expect(await c.linkState(`${P}:vol-never-connected`)).toBeUndefined();
  });

  test('maps NQNs to block device names by the nvmeXcYnZ rule', async () => {
    const subs = new Map((await nvmeSubsystems(new Sysfs(f.sys))).map((s) => [s.nqn, s]));
    expect(subs.get(`${P}:vol-a`)?.devices).toEqual(['nvme0n1']);
    expect(subs.get(`${P}:vol-a`)?.controllers.map((c) => `${c.name}:${c.state}`)).toEqual(['nvme0:live', 'nvme2:connecting']);
    expect(subs.get(`${P}:vol-b`)?.devices).toEqual(['nvme3n1']);
    expect(subs.get(`${P}:vol-c`)?.devices).toEqual([]);
    expect(subs.get(`${P}:vol-c`)?.controllers).toHaveLength(1);
    expect(subs.get(`${P}:vol-d`)?.devices).toEqual(['nvme7n1']);
    expect(subs.get(ROOT_DISK)?.devices).toEqual(['nvme1n1']);
  });

  itRoot('find() returns the checked device node; none for a subsystem without namespace', async () => {
    const c = new NvmeTcpConnector({
      host: hostOf(f, recorder().run),
      nqnPrefix: P,
      hostNqn: 'nqn.2014-08.org.nvmexpress:uuid:x',
      nvmeCommand: 'nvme',
      toolTimeoutMs: 1000,
    });
    expect(await c.find(`${P}:vol-a`)).toEqual({ name: 'nvme0n1', path: path.join(f.dev, 'nvme0n1'), major: 259, minor: 0, sizeBytes: 4096 * 512 });
    expect((await c.find(`${P}:vol-b`))?.name).toBe('nvme3n1');
    expect(await c.find(`${P}:vol-c`)).toBeUndefined();
    expect(await c.find(`${P}:vol-none`)).toBeUndefined();
    // A /dev node whose numbers are not the sysfs ones is never used.
    rmSync(path.join(f.dev, 'nvme3n1'));
    f.namespace(9, 9, 1, { major: 259, minor: 99, sectors: 1 });
    renameSync(path.join(f.dev, 'nvme9n1'), path.join(f.dev, 'nvme3n1'));
    expect(await c.find(`${P}:vol-b`)).toBeUndefined();
  });

  itRoot('attach: already connected → no nvme connect; new NQN → connect with the validated options', async () => {
    const rec = recorder((call) => {
      if (call.args[0] === 'connect') {
        f.subsystem(8, `${P}:vol-e`).controller(8, `${P}:vol-e`);
        f.namespace(8, 8, 1, { major: 259, minor: 8, sectors: 100 });
      }
    });
    const c = new NvmeTcpConnector({
      host: hostOf(f, rec.run),
      nqnPrefix: P,
      hostNqn: 'nqn.2014-08.org.nvmexpress:uuid:host-1',
      nvmeCommand: '/usr/sbin/nvme',
      toolTimeoutMs: 1000,
    });
    expect((await c.attach(target('vol-a'), Date.now() + 1000)).name).toBe('nvme0n1');
    expect(rec.calls).toEqual([]);
    expect(
      (await c.attach({ ...target('vol-e'), params: { ctrlLossTmo: -1, reconnectDelay: 2, keepAliveTmo: 7, fastIoFailTmo: 30 } }, Date.now() + 1000))
        .name,
    ).toBe('nvme8n1');
    expect(rec.calls).toHaveLength(1);
    expect(rec.calls[0]?.cmd).toBe('/usr/sbin/nvme');
    expect(rec.calls[0]?.args).toEqual([
      'connect',
      '-t',
      'tcp',
      '-a',
      '10.0.0.1',
      '-s',
      '4420',
      '-n',
      `${P}:vol-e`,
      '--hostnqn=nqn.2014-08.org.nvmexpress:uuid:host-1',
      '--ctrl-loss-tmo=-1',
      '--reconnect-delay=2',
      '--keep-alive-tmo=7',
    ]);
    // fast_io_fail_tmo goes to the controller's sysfs attribute (nvme-cli 2.3 has no option for it).
    expect(readFileSync(path.join(f.sys, 'class/nvme/nvme8/fast_io_fail_tmo'), 'utf8')).toBe('30');
  });

  itRoot('attach: "already connected" from nvme-cli is success; any other failure is UNAVAILABLE', async () => {
    const already = recorder((call) => {
      f.subsystem(10, `${P}:vol-f`).controller(10, `${P}:vol-f`);
      f.namespace(10, 10, 1, { major: 259, minor: 10, sectors: 100 });
      return call.args[0] === 'connect' ? { code: 1, stderr: 'traddr=10.0.0.1 is already connected' } : {};
    });
    const c = new NvmeTcpConnector({ host: hostOf(f, already.run), nqnPrefix: P, hostNqn: 'h', nvmeCommand: 'nvme', toolTimeoutMs: 1000 });
    expect((await c.attach(target('vol-f'), Date.now() + 1000)).name).toBe('nvme10n1');
    const failing = new NvmeTcpConnector({
      host: hostOf(f, recorder(() => ({ code: 1, stderr: 'could not connect: Connection refused' })).run),
      nqnPrefix: P,
      hostNqn: 'h',
      nvmeCommand: 'nvme',
      toolTimeoutMs: 1000,
    });
    const err = await failing.attach(target('vol-g'), Date.now() + 1000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).kind).toBe('unavailable');
    expect((err as HostError).message).toMatch(/Connection refused/);
  });

  itRoot('attach waits with a deadline for a non-zero-size device', async () => {
    f.subsystem(11, `${P}:vol-z`).controller(11, `${P}:vol-z`);
    const ns = f.namespace(11, 11, 1, { major: 259, minor: 11, sectors: 0 });
    const c = new NvmeTcpConnector({ host: hostOf(f, recorder().run), nqnPrefix: P, hostNqn: 'h', nvmeCommand: 'nvme', toolTimeoutMs: 1000 });
    await expect(c.attach(target('vol-z'), Date.now() + 150)).rejects.toThrow(/size 0/);
    setTimeout(() => f.setSize(ns, 64), 50);
    expect((await c.attach(target('vol-z'), Date.now() + 2000)).sizeBytes).toBe(64 * 512);
  });

  test('detach refuses NQNs outside the managed prefix, even look-alikes', async () => {
    const rec = recorder();
    const c = new NvmeTcpConnector({ host: hostOf(f, rec.run), nqnPrefix: P, hostNqn: 'h', nvmeCommand: 'nvme', toolTimeoutMs: 1000 });
    await expect(c.detach(ROOT_DISK)).rejects.toThrow(/not under the managed prefix/);
    await expect(c.detach(`${P}-other:vol-a`)).rejects.toThrow(/not under the managed prefix/);
    await expect(c.detach(P)).rejects.toThrow(/not under the managed prefix/);
    expect(rec.calls).toEqual([]);
    await c.detach(`${P}:vol-c`);
    expect(rec.calls).toEqual([{ cmd: 'nvme', args: ['disconnect', '-n', `${P}:vol-c`] }]);
  });
});
