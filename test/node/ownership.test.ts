import { rmSync } from 'node:fs';
import path from 'node:path';
import { runTool } from '../../src/host/run';
import type { NodeDeps } from '../../src/node/deps';
import { ownership, type Shown } from '../../src/node/ownership';
import { FakeSysfs } from './fake-sysfs';
import { nodeDepsOnFakeSysfs } from './fake-node-deps';

/**
 * The attribution rule of ownership.ts on an NVMe sysfs tree (issue 11 item 1): the cases loop devices cannot
 * produce — a stale mount whose namespace is gone while its /dev name now belongs to another volume, a device
 * number that belongs to another NQN or to the boot disk. The decision reads sysfs now, never the mount's /dev name.
 */

const P = 'nqn.2026-11.com.mikrotik.rds-csi';
const ROOT_DISK = 'nqn.2014-08.org.example:boot-disk';

describe('attribution of what a path shows to the named volume (NVMe sysfs)', () => {
  let f: FakeSysfs;
  let d: NodeDeps;
  beforeEach(() => {
    f = new FakeSysfs();
    f.subsystem(1, ROOT_DISK).controller(5, ROOT_DISK);
    f.namespace(1, 5, 1, { major: 259, minor: 1, sectors: 2048 });
    // vol-a: reconnected; its device is now nvme0n1 (259:0), plus a second namespace of the same subsystem.
    f.subsystem(0, `${P}:vol-a`).controller(0, `${P}:vol-a`);
    f.namespace(0, 0, 1, { major: 259, minor: 0, sectors: 4096 });
    f.namespace(0, 0, 2, { major: 259, minor: 30, sectors: 4096 });
    // vol-b took the name nvme3n1 (259:3): the name vol-a's stale mount still shows as its source.
    f.subsystem(3, `${P}:vol-b`).controller(1, `${P}:vol-b`);
    f.namespace(3, 1, 1, { major: 259, minor: 3, sectors: 8192 });
    // vol-c: connected, namespace gone.
    f.subsystem(4, `${P}:vol-c`).controller(6, `${P}:vol-c`);
    // A local disk: live, listed by no NVMe subsystem.
    f.disk('sdd', 8, 48);
    d = nodeDepsOnFakeSysfs(f, P, runTool);
  });
  afterEach(() => rmSync(f.root, { recursive: true, force: true }));

  const dev = (name: string): string => path.join(f.dev, name);
  // Every row has five entries: jest passes `done` in place of a missing last argument.
  const cases: Array<[string, string, () => Shown, true | RegExp, string]> = [
    ["the NQN's device now", 'vol-a', () => ({ major: 259, minor: 0, source: dev('nvme0n1'), fsType: 'ext4' }), true, 'current'],
    [
      'another namespace device of the same subsystem',
      'vol-a',
      () => ({ major: 259, minor: 30, source: dev('nvme0n2'), fsType: 'ext4' }),
      true,
      'same-volume',
    ],
    [
      "a stale mount whose device is gone, its /dev name now another volume's",
      'vol-a',
      () => ({ major: 259, minor: 20, source: dev('nvme3n1'), fsType: 'ext4' }),
      true,
      'gone',
    ],
    [
      'a stale xfs mount of a volume that has no device right now',
      'vol-c',
      () => ({ major: 259, minor: 21, source: dev('nvme4n1'), fsType: 'xfs' }),
      true,
      'gone',
    ],
    ['a device node whose device is gone', 'vol-a', () => ({ major: 259, minor: 22 }), true, 'gone'],
    [
      "another volume's live device",
      'vol-a',
      () => ({ major: 259, minor: 3, source: dev('nvme3n1'), fsType: 'ext4' }),
      /nvme3n1 \(259:3\) belongs to .*:vol-b/,
      '',
    ],
    ["another volume's live device node", 'vol-a', () => ({ major: 259, minor: 3 }), /belongs to .*:vol-b/, ''],
    [
      'the boot disk from the same RDS',
      'vol-a',
      () => ({ major: 259, minor: 1, source: dev('nvme1n1'), fsType: 'ext4' }),
      /belongs to nqn\.2014-08\.org\.example:boot-disk/,
      '',
    ],
    [
      'a tmpfs',
      'vol-a',
      () => ({ major: 0, minor: 52, source: 'tmpfs', fsType: 'tmpfs' }),
      /^device 0:52 is an anonymous device \(a tmpfs file system\)/,
      '',
    ],
    ['an anonymous device node', 'vol-a', () => ({ major: 0, minor: 53 }), /^device 0:53 is an anonymous device \(a virtual file system\)/, ''],
    // Mutation survivors (round 6b): the major number and the dev root are both part of the evidence.
    [
      "the current device's minor number under another major",
      'vol-a',
      () => ({ major: 8, minor: 0, source: dev('sdc'), fsType: 'ext4' }),
      /not a mount this driver makes/,
      '',
    ],
    [
      'a gone device with an NVMe name mounted from outside the dev root',
      'vol-a',
      () => ({ major: 259, minor: 25, source: '/mnt/nvme5n1', fsType: 'ext4' }),
      /^its device 259:25 no longer exists and \/mnt\/nvme5n1 \(ext4\) is not a mount this driver makes/,
      '',
    ],
    [
      'a gone device mounted from outside the dev root',
      'vol-a',
      () => ({ major: 259, minor: 23, source: '/mnt/sdb1', fsType: 'ext4' }),
      /not a mount this driver makes/,
      '',
    ],
    [
      'a gone device with a file system the driver never makes',
      'vol-a',
      () => ({ major: 259, minor: 24, source: dev('nvme9n1'), fsType: 'vfat' }),
      /not a mount this driver makes/,
      '',
    ],
    // Round 7d: a live device tied to no NQN (`:62`), and a mount shown without a file system type (`:67`/`:68`).
    [
      'a local disk sysfs ties to no NQN',
      'vol-a',
      () => ({ major: 8, minor: 48, source: dev('sdd'), fsType: 'ext4' }),
      /^device sdd \(8:48\) is not a device of this volume$/,
      '',
    ],
    [
      'a gone device of our kind shown without a file system type',
      'vol-a',
      () => ({ major: 259, minor: 26, source: dev('nvme9n1') }),
      /^its device 259:26 no longer exists and \S+\/nvme9n1 \(\?\) is not a mount this driver makes$/,
      '',
    ],
    [
      'a gone device whose source is not an NVMe namespace name',
      'vol-a',
      () => ({ major: 8, minor: 17, source: dev('sdb1'), fsType: 'ext4' }),
      /not a mount this driver makes/,
      '',
    ],
  ];

  test.each(cases)('%s (named %s)', async (_name, volumeId, shown, want, how) => {
    const nqn = `${P}:${volumeId}`;
    const o = await ownership(d, nqn, await d.connector.find(nqn), shown());
    if (want === true) expect(o).toEqual({ ours: true, how });
    else expect(o).toEqual({ ours: false, why: expect.stringMatching(want) });
  });
});
