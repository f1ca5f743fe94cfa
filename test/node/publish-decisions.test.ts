import { lstatSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NodePublishVolumeRequest__Output } from '../../src/generated/csi/v1/NodePublishVolumeRequest';
import { splitDev } from '../../src/host/fs';
import { publishVolume, unpublishVolume } from '../../src/node/publish';
import { describeIf, IS_ROOT, ROOT_REASON } from '../support/prereq';
import { failure, P, type ScriptedNode, scriptedNode, withVolumesAB } from './scripted-node';

/**
 * publish.ts's decisions in-process (issue 19 item 2, node-publish mutants; the real-mount files cost a minute per
 * mutant): over a fake NVMe sysfs (vol-a's device nvme0n1 is 259:0, vol-b's nvme3n1 is 259:3) and a scripted mount
 * table (scripted-node.ts), with real target directories, files and device nodes under a temp kubelet dir. Each case
 * checks the answer and the exact mount/umount lines; nothing on the machine is mounted.
 */

const MOUNT = (mode = 'SINGLE_NODE_WRITER', fsType = 'ext4') => ({ mount: { fsType, mountFlags: [] }, accessMode: { mode } });
const BLOCK = (mode = 'SINGLE_NODE_WRITER') => ({ block: {}, accessMode: { mode } });

describeIf(IS_ROOT, ROOT_REASON)('NodePublishVolume / NodeUnpublishVolume decisions (scripted mount table)', () => {
  let s: ScriptedNode;
  let staging: string;
  let target: string;
  let devA: string;

  const pub = (over: Record<string, unknown> = {}) =>
    publishVolume(s.d, {
      volumeId: 'vol-a',
      publishContext: {},
      stagingTargetPath: staging,
      targetPath: target,
      volumeCapability: MOUNT(),
      readonly: false,
      secrets: {},
      volumeContext: { nqn: `${P}:vol-a` },
      ...over,
    } as unknown as NodePublishVolumeRequest__Output);
  const unpub = (over: Record<string, unknown> = {}) => unpublishVolume(s.d, { volumeId: 'vol-a', targetPath: target, ...over });
  const mountsAt = (p: string) => s.table.filter((e) => e.mountPoint === p);

  beforeEach(() => {
    s = scriptedNode();
    ({ devA, staging } = withVolumesAB(s));
    target = path.join(s.k, 'pods/uid1/volumes/kubernetes.io~csi/pvc-a/mount');
  });
  afterEach(() => s.cleanup());

  describe('argument checks (before anything is looked at)', () => {
    test.each<[string, Record<string, unknown>, string, string | RegExp]>([
      ['no volume_id', { volumeId: '' }, 'invalid', 'volume_id is required'],
      ['no target_path', { targetPath: '' }, 'invalid', 'target_path is required'],
      ['no staging_target_path', { stagingTargetPath: '' }, 'invalid', 'staging_target_path is required'],
      ['no capability', { volumeCapability: null }, 'invalid', 'volume_capability is required'],
      [
        'an access type the volume was not created for',
        { volumeContext: { nqn: `${P}:vol-a`, accessType: 'block' } },
        'invalid',
        /created for block access/,
      ],
      ['no NQN in volume_context', { volumeContext: {} }, 'invalid', /volume_context\.nqn is required/],
      ['a bad address in publish_context', { publishContext: { targetAddress: 'not a host!' } }, 'invalid', /targetAddress "not a host!"/],
      ['a target outside kubelet dir', { targetPath: '/tmp/elsewhere/mount' }, 'invalid', /^target_path "\/tmp\/elsewhere\/mount" is outside/],
      [
        'a staging path outside kubelet dir',
        { stagingTargetPath: '/tmp/elsewhere/g' },
        'invalid',
        /^staging_target_path "\/tmp\/elsewhere\/g" is outside/,
      ],
    ])('%s', async (_what, over, kind, msg) => {
      const [k, m] = await failure(pub(over));
      expect(k).toBe(kind);
      expect(m).toMatch(msg);
      expect(s.calls).toEqual([]);
    });

    test.each<[string, Record<string, unknown>, string | RegExp]>([
      ['no volume_id', { volumeId: '' }, 'volume_id is required'],
      ['no target_path', { targetPath: '' }, 'target_path is required'],
      ['a target outside kubelet dir', { targetPath: '/tmp/elsewhere/mount' }, /^target_path "\/tmp\/elsewhere\/mount" is outside/],
    ])('unpublish: %s', async (_what, over, msg) => {
      const [k, m] = await failure(unpub(over));
      expect(k).toBe('invalid');
      expect(m).toMatch(msg);
    });
  });

  describe('publish a filesystem volume', () => {
    test('binds the staging mount at a new target (parents made, mode 0750)', async () => {
      await pub();
      expect(s.calls).toEqual([`mount --bind ${staging} ${target}`]);
      expect(mountsAt(target)).toMatchObject([{ major: 259, minor: 0, options: ['rw'] }]);
      expect(statSync(target).mode & 0o777).toBe(0o750);
      expect(await pub()).toEqual({}); // again: already published, nothing run
      expect(s.calls).toHaveLength(1);
    });

    test.each<[string, Record<string, unknown>]>([
      ['readonly', { readonly: true }],
      ['a read-only access mode', { volumeCapability: MOUNT('SINGLE_NODE_READER_ONLY') }],
    ])('%s: the bind is remounted read-only', async (_what, over) => {
      await pub(over);
      expect(s.calls).toEqual([`mount --bind ${staging} ${target}`, `mount -o remount,bind,ro ${target}`]);
    });

    test.each<[string, Record<string, unknown>, string, string]>([
      ['read-write, asked read-only', { readonly: true }, 'rw', 'read-write'],
      ['read-only, asked read-write', {}, 'ro', 'read-only'],
    ])('a target already published %s: ALREADY_EXISTS', async (_what, over, has, says) => {
      mkdirSync(target, { recursive: true });
      s.table.push(s.mountEntry(target, 259, 0, { source: devA, options: [has] }));
      expect(await failure(pub(over))).toEqual(['conflict', `${target} is already published ${says}`]);
      expect(s.calls).toEqual([]);
    });

    test('not staged on this node (no device for the NQN): FAILED_PRECONDITION', async () => {
      const r = await failure(pub({ volumeId: 'vol-c', volumeContext: { nqn: `${P}:vol-c` } }));
      expect(r).toEqual(['precondition', `volume vol-c is not staged on this node (no device for ${P}:vol-c); NodeStageVolume first`]);
    });

    test('no mount at the staging path: FAILED_PRECONDITION', async () => {
      s.table.length = 0;
      expect(await failure(pub())).toEqual(['precondition', `volume vol-a is not staged at ${staging}; NodeStageVolume first`]);
      expect(s.calls).toEqual([]);
    });

    test('a target that is a file: FAILED_PRECONDITION, nothing bound', async () => {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, 'x');
      expect(await failure(pub())).toEqual(['precondition', `${target} exists and is not a directory`]);
      expect(s.calls).toEqual([]);
    });

    // A stale staging mount (the device's numbers changed after a reconnect) is taken down and remounted from the
    // current device; a staging mount with this device is used as it is.
    test.each<[string, number, number]>([
      ['another minor of the same major', 259, 9],
      ['the same minor under another major', 8, 0],
    ])('a stale staging mount (%s) is remounted from the current device, never formatted', async (_what, major, minor) => {
      s.table.length = 0;
      s.table.push(s.mountEntry(staging, major, minor, { source: path.join(s.f.dev, 'nvme7n1') }));
      s.reply = (cmd) => (cmd === 'blkid' ? { stdout: 'TYPE=ext4\nUSAGE=filesystem\n' } : {});
      await pub();
      expect(s.calls).toEqual([
        `umount ${staging}`,
        `blkid -p -o export ${devA}`,
        `mount -t ext4 ${devA} ${staging}`,
        `resize2fs ${devA}`,
        `mount --bind ${staging} ${target}`,
      ]);
      expect(mountsAt(target)).toMatchObject([{ major: 259, minor: 0 }]);
    });

    // Stage decided the file system (it refuses another type); publish only looks at the device numbers and binds.
    test('a staging mount of the current device is bound as it is, whatever fs_type the capability names', async () => {
      s.table[0] = s.mountEntry(staging, 259, 0, { source: devA, fsType: 'xfs' });
      await pub();
      expect(s.calls).toEqual([`mount --bind ${staging} ${target}`]);
    });

    test('a stale staging mount over a blank device is refused, not formatted', async () => {
      s.table.length = 0;
      s.table.push(s.mountEntry(staging, 259, 9, { source: path.join(s.f.dev, 'nvme7n1') }));
      s.reply = (cmd) => (cmd === 'blkid' ? { code: 2 } : cmd === 'dd' ? { stdout: '\0'.repeat(65536) } : {});
      const r = await failure(pub());
      expect(r).toEqual(['precondition', `${devA} holds no file system; it was staged before, so it is not formatted now`]);
      expect(s.calls.filter((c) => c.startsWith('mkfs'))).toEqual([]);
    });

    test('a stale bind of this volume at the target (another major, same minor) is replaced', async () => {
      mkdirSync(target, { recursive: true });
      s.table.push(s.mountEntry(target, 8, 0, { source: path.join(s.f.dev, 'nvme5n1') }));
      await pub();
      expect(s.calls).toEqual([`umount ${target}`, `mount --bind ${staging} ${target}`]);
      expect(mountsAt(target)).toMatchObject([{ major: 259, minor: 0 }]);
    });

    test("another volume's mount at the target is refused, untouched", async () => {
      mkdirSync(target, { recursive: true });
      s.table.push(s.mountEntry(target, 259, 3, { source: path.join(s.f.dev, 'nvme3n1') }));
      const [k, m] = await failure(pub());
      expect(k).toBe('precondition');
      expect(m).toMatch(/which is not volume vol-a's: device nvme3n1 \(259:3\) belongs to .*:vol-b/);
      expect(s.calls).toEqual([]);
    });

    test.each<[string, string, boolean]>([
      ['SINGLE_NODE_SINGLE_WRITER', 'refused', true],
      ['SINGLE_NODE_MULTI_WRITER', 'allowed', false],
    ])('%s published at another target: a second target is %s', async (mode, _what, refused) => {
      const other = path.join(s.k, 'pods/uid0/volumes/kubernetes.io~csi/pvc-a/mount');
      s.table.push(s.mountEntry(other, 259, 0, { source: devA }));
      const r = pub({ volumeCapability: MOUNT(mode) });
      if (refused) expect((await failure(r))[1]).toMatch(`already published on this node at ${other}`);
      else await expect(r).resolves.toEqual({});
    });
  });

  describe('publish a block volume', () => {
    test('a device node of the current device at the target (no mount)', async () => {
      await pub({ volumeCapability: BLOCK() });
      const st = lstatSync(target, { bigint: true });
      expect(st.isBlockDevice()).toBe(true);
      expect(splitDev(st.rdev)).toEqual({ major: 259, minor: 0 });
      expect(s.calls.filter((c) => c.startsWith('mount'))).toEqual([]);
    });

    test('SINGLE_NODE_SINGLE_WRITER: a device node of the volume beside the target is another publication', async () => {
      await pub({ volumeCapability: BLOCK('SINGLE_NODE_SINGLE_WRITER'), targetPath: `${target}-0` });
      const [k, m] = await failure(pub({ volumeCapability: BLOCK('SINGLE_NODE_SINGLE_WRITER') }));
      expect([k, m]).toEqual(['precondition', expect.stringContaining(`already published on this node at ${target}-0`)]);
    });
  });

  describe('unpublish', () => {
    test('unmounts the bind and removes the target directory', async () => {
      await pub();
      await unpub();
      expect(s.calls.slice(1)).toEqual([`umount ${target}`]);
      expect(() => lstatSync(target)).toThrow(/ENOENT/);
      expect(s.logs.filter((l) => l.level >= 40)).toEqual([]);
      await expect(unpub()).resolves.toEqual({}); // again: nothing there, OK
    });

    test('a device node of this volume is removed; of another volume, refused and kept', async () => {
      await pub({ volumeCapability: BLOCK() });
      await unpub();
      expect(() => lstatSync(target)).toThrow(/ENOENT/);
      await pub({ volumeId: 'vol-b', volumeContext: { nqn: `${P}:vol-b` }, volumeCapability: BLOCK() });
      const r = await failure(unpub());
      expect(r).toEqual([
        'precondition',
        `${target} is a device node of 259:3, which is not volume vol-a's: device nvme3n1 (259:3) belongs to ${P}:vol-b; the driver refuses to remove it`,
      ]);
      expect(lstatSync(target).isBlockDevice()).toBe(true);
    });

    test("a mount that is not the volume's is refused, left mounted", async () => {
      mkdirSync(target, { recursive: true });
      s.table.push(s.mountEntry(target, 259, 3, { source: path.join(s.f.dev, 'nvme3n1') }));
      expect((await failure(unpub()))[0]).toBe('precondition');
      expect(mountsAt(target)).toHaveLength(1);
      expect(s.calls).toEqual([]);
    });

    test('a target left non-empty after the unmount: OK, kept, and the operator is told', async () => {
      await pub();
      s.onMounts = () => {
        if (mountsAt(target).length === 0) writeFileSync(path.join(target, 'written-under-the-mount'), 'x');
      };
      await unpub();
      expect(readdirSync(target)).toEqual(['written-under-the-mount']);
      expect(s.logs.filter((l) => l.level >= 40)).toEqual([
        expect.objectContaining({
          level: 40,
          volumeId: 'vol-a',
          targetPath: target,
          unmounted: 1,
          msg: 'target path is not empty after unmounting; left in place, not deleted',
        }),
      ]);
    });
  });
});
