import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runTool, type ToolRunner } from '../../src/host/run';
import { closeMapping, stagedDevice } from '../../src/node/crypt-volume';
import type { NodeDeps } from '../../src/node/deps';
import { ownership } from '../../src/node/ownership';
import { describeRoot } from './support';
import { FakeSysfs } from './fake-sysfs';
import { nodeDepsOnFakeSysfs } from './fake-node-deps';

/**
 * Which LUKS2 mapping is a volume's (crypt-volume.ts), on an NVMe + device-mapper sysfs tree: only the mapping with
 * the volume's name whose underlying device belongs to the volume's NQN is attributed to it (mounted from it, closed
 * at unstage); a mapping with the volume's name over another volume's device, or any other dm device, is refused and
 * never closed. Device nodes are made with mknod (root).
 */

const P = 'nqn.2026-11.com.mikrotik.rds-csi';

describeRoot('attribution of device-mapper devices to a volume', () => {
  let f: FakeSysfs;
  let d: NodeDeps;
  const ran: string[][] = [];

  /** dm-N (253:N) named `name`, over the block devices `slaves`. */
  function mapping(n: number, name: string, slaves: Array<{ device: string; major: number; minor: number }>): void {
    const w = (rel: string, content: string): void => {
      const p = path.join(f.sys, rel);
      mkdirSync(path.dirname(p), { recursive: true });
      writeFileSync(p, `${content}\n`);
    };
    w(`class/block/dm-${n}/dev`, `253:${n}`);
    w(`class/block/dm-${n}/size`, '2048');
    w(`class/block/dm-${n}/dm/name`, name);
    w(`dev/block/253:${n}/dm/name`, name);
    w(`dev/block/253:${n}/size`, '2048');
    for (const s of slaves) {
      mkdirSync(path.join(f.sys, `class/block/dm-${n}/slaves/${s.device}`), { recursive: true });
      mkdirSync(path.join(f.sys, `dev/block/${s.major}:${s.minor}/holders/dm-${n}`), { recursive: true });
    }
    execFileSync('mknod', [path.join(f.dev, `dm-${n}`), 'b', '253', String(n)]);
  }

  beforeEach(() => {
    ran.length = 0;
    f = new FakeSysfs();
    f.subsystem(0, `${P}:vol-a`).controller(0, `${P}:vol-a`);
    f.namespace(0, 0, 1, { major: 259, minor: 0, sectors: 4096 });
    f.subsystem(3, `${P}:vol-b`).controller(1, `${P}:vol-b`);
    f.namespace(3, 1, 1, { major: 259, minor: 3, sectors: 8192 });
    mapping(0, 'rds-csi-vol-a', [{ device: 'nvme0n1', major: 259, minor: 0 }]); // vol-a's own
    mapping(1, 'rds-csi-vol-c', [{ device: 'nvme3n1', major: 259, minor: 3 }]); // vol-c's name over vol-b's device
    mapping(2, 'someone-elses', [{ device: 'nvme3n1', major: 259, minor: 3 }]); // not a name of ours
    const run: ToolRunner = (cmd, args, opts) => {
      if (cmd === 'cryptsetup') {
        ran.push([cmd, ...args]);
        return Promise.resolve({ command: cmd, args, code: 0, signal: null, stdout: '', stderr: '', timedOut: false, durationMs: 1 });
      }
      return runTool(cmd, args, opts);
    };
    d = nodeDepsOnFakeSysfs(f, P, run);
  });
  afterEach(() => rmSync(f.root, { recursive: true, force: true }));

  it.each([
    ['vol-a, its own mapping', 'vol-a', 0, true, ''],
    ['vol-b, a mapping not named for it over its device', 'vol-b', 2, false, /not the mapping of/],
    ["vol-c, its name over another volume's device", 'vol-c', 1, false, /lies over nvme3n1 .* not a device of/],
    ["vol-a, another volume's mapping", 'vol-a', 1, false, /not the mapping of/],
  ])('%s', async (_what, vol, dm, ours, why) => {
    const o = await ownership(d, `${P}:${vol}`, await d.connector.find(`${P}:${vol}`), {
      major: 253,
      minor: dm,
      source: `/dev/mapper/x`,
      fsType: 'ext4',
    });
    expect(o.ours).toBe(ours);
    if (!o.ours) expect(o.why).toMatch(why);
  });

  it("stats and unstage see the mapping that alone holds the volume's device, and nothing else", async () => {
    const a = await d.connector.find(`${P}:vol-a`);
    expect((await stagedDevice(d, 'vol-a', a))?.name).toBe('dm-0');
    const b = await d.connector.find(`${P}:vol-b`);
    expect((await stagedDevice(d, 'vol-b', b))?.name).toBe(b?.name); // held by two dm devices, neither vol-b's
  });

  it("a volume on another backend (<slot>@<backend>, issue 16) has the slot's mapping, attributed by the slot's NQN", async () => {
    const a = await d.connector.find(`${P}:vol-a`);
    expect((await stagedDevice(d, 'vol-a@rack-b', a))?.name).toBe('dm-0');
    await closeMapping(d, 'vol-a@rack-b', `${P}:vol-a`);
    expect(ran).toEqual([['cryptsetup', 'close', 'rds-csi-vol-a']]);
  });

  it('unstage closes only a mapping attributable to the volume', async () => {
    await closeMapping(d, 'vol-a', `${P}:vol-a`);
    expect(ran).toEqual([['cryptsetup', 'close', 'rds-csi-vol-a']]);
    await expect(closeMapping(d, 'vol-c', `${P}:vol-c`)).rejects.toMatchObject({ kind: 'precondition' });
    await closeMapping(d, 'vol-d', `${P}:vol-d`); // no mapping: nothing to do
    expect(ran).toHaveLength(1);
  });
});
