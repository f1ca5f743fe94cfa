import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { MountTable, type MountEntry } from '../../src/host/mountinfo';
import type { HostPort } from '../../src/host/port';
import type { ToolRunner } from '../../src/host/run';
import { createLogger } from '../../src/log/logger';
import type { NodeDeps } from '../../src/node/deps';
import { mounter } from '../../src/node/mounter';
import { unmountOwned } from '../../src/node/ownership';
import { FakeSysfs } from './fake-sysfs';
import { nodeDepsOnFakeSysfs } from './fake-node-deps';

/**
 * unmountOwned (ownership.ts) in-process, issue 19 item 2 (node-ownership's log-only survivors `:80`-`:83`): over a
 * fake NVMe sysfs and a mount table the scripted umount pops, each layer of a stack is unmounted only while it is
 * the volume's; a stale layer (its device gone, or another namespace of the volume) is logged as such — one warning
 * naming the volume, path, source, device numbers and how it was attributed — and the current device's mount is not.
 * A foreign layer stops everything before any umount. Nothing on this machine is mounted.
 */

const P = 'nqn.2026-11.com.mikrotik.rds-csi';
const NQN = `${P}:vol-a`;

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

describe('unmountOwned: layer by layer, stale layers logged', () => {
  let f: FakeSysfs;
  let d: NodeDeps;
  let target: string;
  let table: MountEntry[];
  let umounts: string[];
  let lines: LogLine[];

  const layer = (minor: number, source: string): MountEntry => ({
    mountId: 200 + table.length,
    parentId: 1,
    major: 259,
    minor,
    root: '/',
    mountPoint: target,
    options: ['rw'],
    optional: [],
    fsType: 'ext4',
    source,
    superOptions: ['rw'],
  });

  beforeEach(() => {
    f = new FakeSysfs();
    // vol-a: its device now is nvme0n1 (259:0); nvme0n2 (259:30) is another namespace of the same subsystem.
    f.subsystem(0, NQN).controller(0, NQN);
    f.namespace(0, 0, 1, { major: 259, minor: 0, sectors: 4096 });
    f.namespace(0, 0, 2, { major: 259, minor: 30, sectors: 4096 });
    f.subsystem(3, `${P}:vol-b`).controller(1, `${P}:vol-b`);
    f.namespace(3, 1, 1, { major: 259, minor: 3, sectors: 8192 });
    target = path.join(realpathSync(f.root), 'target');
    mkdirSync(target);
    table = [];
    umounts = [];
    lines = [];
    const run: ToolRunner = (command, args, opts) => {
      if (command === 'umount') {
        umounts.push(args[0] ?? '');
        const at = table.map((e) => e.mountPoint).lastIndexOf(args[0] ?? '');
        if (at >= 0) table.splice(at, 1);
      }
      return Promise.resolve({ command, args, code: 0, signal: null, stdout: '', stderr: '', timedOut: false, durationMs: opts.timeoutMs });
    };
    const base = nodeDepsOnFakeSysfs(f, P, run);
    const host: HostPort = { ...base.host, mounts: () => Promise.resolve(new MountTable([...table])) };
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as LogLine);
        done();
      },
    });
    d = { ...base, host, mounter: mounter(host), log: createLogger('debug', 'ownership-unmount-test', sink) };
  });
  afterEach(() => rmSync(f.root, { recursive: true, force: true }));

  test('a stack of the current mount over a gone one and another namespace: all unmounted, the two stale ones logged', async () => {
    table.push(layer(20, path.join(f.dev, 'nvme3n1')), layer(30, path.join(f.dev, 'nvme0n2')), layer(0, path.join(f.dev, 'nvme0n1')));
    await expect(unmountOwned(d, 'vol-a', NQN, target)).resolves.toBe(3);
    expect(umounts).toEqual([target, target, target]);
    expect(table).toEqual([]);
    const warn = lines.filter((l) => l.level === 40);
    expect(warn).toEqual([
      expect.objectContaining({
        msg: 'unmounting a stale mount of the volume',
        volumeId: 'vol-a',
        path: target,
        source: path.join(f.dev, 'nvme0n2'),
        device: '259:30',
        how: 'same-volume',
      }),
      expect.objectContaining({
        msg: 'unmounting a stale mount of the volume',
        volumeId: 'vol-a',
        path: target,
        source: path.join(f.dev, 'nvme3n1'),
        device: '259:20',
        how: 'gone',
      }),
    ]);
    expect(lines.filter((l) => l.level >= 40)).toHaveLength(2);
  });

  test("the current device's mount alone is unmounted without a word", async () => {
    table.push(layer(0, path.join(f.dev, 'nvme0n1')));
    await expect(unmountOwned(d, 'vol-a', NQN, target)).resolves.toBe(1);
    expect(umounts).toEqual([target]);
    expect(lines).toEqual([]);
  });

  test("another volume's mount on top stops everything before any umount, naming it", async () => {
    table.push(layer(0, path.join(f.dev, 'nvme0n1')), layer(3, path.join(f.dev, 'nvme3n1')));
    await expect(unmountOwned(d, 'vol-a', NQN, target)).rejects.toMatchObject({
      kind: 'precondition',
      message: `${target} has ${path.join(f.dev, 'nvme3n1')} (ext4) mounted, which is not volume vol-a's: device nvme3n1 (259:3) belongs to ${P}:vol-b; the driver refuses to unmount it`,
    });
    expect(umounts).toEqual([]);
    expect(table).toHaveLength(2);
    expect(lines).toEqual([]);
  });

  test('a path with nothing mounted: nothing unmounted, nothing logged', async () => {
    await expect(unmountOwned(d, 'vol-a', NQN, target)).resolves.toBe(0);
    expect(umounts).toEqual([]);
    expect(lines).toEqual([]);
  });
});
