import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NodeUnstageVolumeRequest__Output } from '../../src/generated/csi/v1/NodeUnstageVolumeRequest';
import { unstageVolume } from '../../src/node/unstage';
import { describeIf, IS_ROOT, ROOT_REASON } from '../support/prereq';
import { dirAt, failure, P, type ScriptedNode, scriptedNode, withVolumesAB } from './scripted-node';

/**
 * unstage.ts's decisions in-process (issue 19 item 2, node-unstage mutants; the real-mount files cost a minute per
 * mutant): over a fake NVMe sysfs (vol-a's device nvme0n1 is 259:0, vol-b's nvme3n1 is 259:3) and a scripted mount
 * table (scripted-node.ts), with a real staging directory under a temp kubelet dir. Each case checks the answer,
 * the exact umount / `nvme disconnect` lines, and what the operator reads in the log.
 */

describeIf(IS_ROOT, ROOT_REASON)('NodeUnstageVolume decisions (scripted mount table)', () => {
  let s: ScriptedNode;
  let staging: string;
  let devA: string;
  const DISCONNECT = `nvme disconnect -n ${P}:vol-a`;

  const unstage = (over: Partial<NodeUnstageVolumeRequest__Output> = {}) =>
    unstageVolume(s.d, { volumeId: 'vol-a', stagingTargetPath: staging, ...over });
  const publishedAt = (rel: string): string => {
    const p = dirAt(s.k, rel);
    s.table.push(s.mountEntry(p, 259, 0, { source: devA }));
    return p;
  };
  const holder = (name: string): void => {
    mkdirSync(path.join(s.f.sys, 'dev/block/259:0/holders', name), { recursive: true });
  };
  const logged = (level: number) => s.logs.filter((l) => l.level === level);

  beforeEach(() => {
    s = scriptedNode();
    ({ devA, staging } = withVolumesAB(s));
  });
  afterEach(() => s.cleanup());

  test.each<[string, Partial<NodeUnstageVolumeRequest__Output>, string | RegExp]>([
    ['no volume_id', { volumeId: '' }, 'volume_id is required'],
    ['no staging_target_path', { stagingTargetPath: '' }, 'staging_target_path is required'],
    ['a staging path outside kubelet dir', { stagingTargetPath: '/tmp/elsewhere/g' }, /^staging_target_path "\/tmp\/elsewhere\/g" is outside/],
  ])('%s: INVALID_ARGUMENT before anything is looked at', async (_what, over, msg) => {
    const [k, m] = await failure(unstage(over));
    expect(k).toBe('invalid');
    expect(m).toMatch(msg);
    expect(s.calls).toEqual([]);
  });

  test('staged only: unmounted, the directory removed, the NQN disconnected; nothing logged above info', async () => {
    expect(await unstage()).toEqual({});
    expect(s.calls).toEqual([`umount ${staging}`, DISCONNECT]);
    expect(existsSync(staging)).toBe(false);
    expect(s.logs.filter((l) => l.level >= 30)).toEqual([]);
    expect(await unstage()).toEqual({}); // again: not staged, device unused: finishes (disconnects again)
    expect(s.calls.slice(2)).toEqual([DISCONNECT]);
  });

  test('not connected at all: OK, nothing run', async () => {
    s.table.length = 0;
    expect(await unstage({ volumeId: 'vol-c' })).toEqual({});
    expect(s.calls).toEqual([]);
  });

  test('still published at two targets: FAILED_PRECONDITION naming both, nothing touched', async () => {
    const a = publishedAt('pods/u1/volumes/kubernetes.io~csi/pvc-a/mount');
    const b = publishedAt('pods/u2/volumes/kubernetes.io~csi/pvc-a/mount');
    expect(await failure(unstage())).toEqual(['precondition', `device ${devA} of volume vol-a is still mounted at ${a}, ${b}; not unstaging`]);
    expect(s.calls).toEqual([]);
  });

  test('held by device-mapper: FAILED_PRECONDITION naming the holders, nothing touched', async () => {
    holder('dm-7');
    holder('dm-8');
    expect(await failure(unstage())).toEqual(['precondition', `device ${devA} of volume vol-a is held by dm-7, dm-8; not unstaging`]);
    expect(s.calls).toEqual([]);
  });

  test('not staged at this path while the device is used elsewhere: OK, the device stays, the operator is told why', async () => {
    s.table.length = 0;
    const t = publishedAt('pods/u1/volumes/kubernetes.io~csi/pvc-a/mount');
    expect(await unstage()).toEqual({});
    expect(s.calls).toEqual([]);
    expect(existsSync(staging)).toBe(true);
    expect(logged(30)).toEqual([
      expect.objectContaining({
        volumeId: 'vol-a',
        staging,
        why: `device ${devA} of volume vol-a is still mounted at ${t}; not unstaging`,
        msg: 'volume is not staged at this path; its device is in use elsewhere and stays connected',
      }),
    ]);
  });

  test("a mount at the staging path that is not the volume's: refused, left mounted, still connected", async () => {
    s.table.length = 0;
    s.table.push(s.mountEntry(staging, 259, 3, { source: path.join(s.f.dev, 'nvme3n1') }));
    const [k, m] = await failure(unstage());
    expect(k).toBe('precondition');
    expect(m).toMatch(/which is not volume vol-a's: device nvme3n1 \(259:3\) belongs to .*:vol-b/);
    expect(s.calls).toEqual([]);
  });

  test('a staging directory left non-empty: disconnected anyway, the directory kept, a warning names it', async () => {
    s.onMounts = () => {
      if (!s.table.some((e) => e.mountPoint === staging)) writeFileSync(path.join(staging, 'under-the-mount'), 'x');
    };
    expect(await unstage()).toEqual({});
    expect(s.calls).toEqual([`umount ${staging}`, DISCONNECT]);
    expect(readdirSync(staging)).toEqual(['under-the-mount']);
    expect(logged(40)).toEqual([expect.objectContaining({ staging, msg: 'staging path is not empty after unmount; left in place' })]);
  });

  // The second check runs after the unmount and the removal, counting a mount at the staging path too: a device
  // mounted there again in between (by hand, or by anything not holding the volume's lock) is not pulled away.
  test('the device mounted again at the staging path after the unmount: FAILED_PRECONDITION, not disconnected', async () => {
    s.onMounts = () => {
      if (!existsSync(staging) && !s.table.some((e) => e.mountPoint === staging)) s.table.push(s.mountEntry(staging, 259, 0, { source: devA }));
    };
    expect(await failure(unstage())).toEqual(['precondition', `device ${devA} of volume vol-a is still mounted at ${staging}; not unstaging`]);
    expect(s.calls).toEqual([`umount ${staging}`]);
  });
});
