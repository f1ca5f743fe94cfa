import { mkdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parseNodeOptions } from '../../src/config/load';
import type { NodeOptionsInput } from '../../src/config/schema';
import type { Failure } from '../../src/domain/failure';
import type { NodeStageVolumeRequest__Output } from '../../src/generated/csi/v1/NodeStageVolumeRequest';
import type { CallContext } from '../../src/grpc/service';
import { splitDev } from '../../src/host/fs';
import { MountTable, type MountEntry } from '../../src/host/mountinfo';
import type { HostPort } from '../../src/host/port';
import type { ToolResult, ToolRunner } from '../../src/host/run';
import { Sysfs } from '../../src/host/sysfs';
import { createLogger } from '../../src/log/logger';
import type { NodeDeps } from '../../src/node/deps';
import { mounter } from '../../src/node/mounter';
import { nodeTopology } from '../../src/node/node-topology';
import { NvmeTcpConnector } from '../../src/node/nvme-connector';
import { ensureStagedFs, stageVolume } from '../../src/node/stage';
import { parseCapability } from '../../src/node/validate';
import { VolumeLocks } from '../../src/node/volume-lock';
import { FakeSysfs, type FakeNamespace } from './fake-sysfs';
import { describeRoot } from './support';

/**
 * NodeStageVolume's decisions in-process (issue 19 item 2, node-stage mutants; the real-mount files node-fs,
 * format-safety, node-safety cover the same end to end on loop devices, minutes per mutant). The real
 * NvmeTcpConnector, probe, mounter and attribution (ownership.ts) over a fake NVMe sysfs with real device nodes
 * (fake-sysfs.ts, made with mknod, never opened) and a real staging directory under a temp kubelet dir; the host's
 * tools are scripted and recorded: blkid answers what the case puts on the device, dd reads zeros, mount/umount edit
 * a mount table the host port reads. Nothing on this machine is mounted or formatted.
 */

const P = 'nqn.2026-11.com.mikrotik.rds-csi';
const XFS_MIN = 300 * 1024 * 1024;
type Reply = Partial<Pick<ToolResult, 'code' | 'stdout' | 'stderr' | 'timedOut'>>;

describeRoot('NodeStageVolume decisions (stage.ts)', () => {
  let f: FakeSysfs;
  let kdir: string;
  let calls: string[];
  let table: MountEntry[];
  let blkid: Reply;
  let grow: Reply;
  let logs: Array<Record<string, unknown>>;
  let ns: FakeNamespace;
  let d: NodeDeps;

  const run: ToolRunner = (cmd, args) => {
    calls.push([cmd, ...args].join(' '));
    let r: Reply = {};
    if (cmd === 'blkid') r = blkid;
    else if (cmd === 'dd') r = { stdout: '\0'.repeat(16 * 4096) };
    else if (cmd === 'mount') {
      const [source, target] = args.slice(-2) as [string, string];
      const { major, minor } = splitDev(statSync(source, { bigint: true }).rdev);
      const fsType = args[args.indexOf('-t') + 1] ?? '';
      table.push({ ...entry(target, major, minor, source), fsType });
    } else if (cmd === 'umount') {
      const at = table.map((e) => e.mountPoint).lastIndexOf(args[0] ?? '');
      if (at >= 0) table.splice(at, 1);
    } else if (cmd === 'resize2fs' || cmd === 'xfs_growfs') r = grow;
    else if (cmd === 'nvme') f.controller(9, `${P}:vol-c`);
    else if (!cmd.startsWith('mkfs.')) throw new Error(`unexpected tool ${cmd}`);
    return Promise.resolve({ command: cmd, args, signal: null, durationMs: 1, code: 0, stdout: '', stderr: '', timedOut: false, ...r });
  };

  function entry(mountPoint: string, major: number, minor: number, source: string, fsType = 'ext4'): MountEntry {
    const id = 100 + table.length;
    return { mountId: id, parentId: 1, major, minor, root: '/', mountPoint, options: ['rw'], optional: [], fsType, source, superOptions: ['rw'] };
  }

  function deps(extra: Partial<NodeOptionsInput> = {}): NodeDeps {
    const host: HostPort = { run, sysfs: new Sysfs(f.sys), devRoot: f.dev, mounts: () => Promise.resolve(new MountTable([...table])) };
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        cb();
      },
    });
    return {
      opts: parseNodeOptions({ nodeId: 'n', kubeletDir: kdir, ...extra }),
      nqnPrefix: P,
      host,
      connector: new NvmeTcpConnector({ host, nqnPrefix: P, hostNqn: 'nqn.2014-08.org.nvmexpress:uuid:x', nvmeCommand: 'nvme', toolTimeoutMs: 1000 }),
      mounter: mounter(host),
      locks: new VolumeLocks(0),
      log: createLogger('info', 'stage-test', sink),
      topology: nodeTopology('rds.csi.mikrotik.com', 'default', ''),
    };
  }

  beforeEach(() => {
    f = new FakeSysfs();
    f.subsystem(0, `${P}:vol-a`).controller(0, `${P}:vol-a`);
    ns = f.namespace(0, 0, 1, { major: 259, minor: 0, sectors: (64 * 1024 * 1024) / 512 });
    // vol-b: another volume, live on this node (its device must never be unmounted for vol-a).
    f.subsystem(3, `${P}:vol-b`).controller(1, `${P}:vol-b`);
    f.namespace(3, 1, 1, { major: 259, minor: 3, sectors: 8192 });
    kdir = realpathSync(path.join(f.root));
    calls = [];
    table = [];
    blkid = { code: 2 };
    grow = {};
    logs = [];
    d = deps();
  });
  afterEach(() => rmSync(f.root, { recursive: true, force: true })); // device nodes, plain files and dirs only

  const dev = path.join('DEV', 'nvme0n1');
  const staging = (name = 'st'): string => path.join(kdir, 'pods', name, 'globalmount');
  const ctx: CallContext = { method: 'NodeStageVolume', remainingMs: () => Infinity, log: createLogger('silent') };
  /** The tools run, without the probe's reads; the fake /dev and the kubelet dir written as DEV and K. */
  const acts = (): string[] =>
    calls.filter((c) => !c.startsWith('blkid ') && !c.startsWith('dd ')).map((c) => c.split(f.dev).join('DEV').split(kdir).join('K'));
  const req = (
    o: { fsType?: string; flags?: string[]; mode?: string; block?: boolean; id?: string; at?: string } & Partial<NodeStageVolumeRequest__Output> = {},
  ): NodeStageVolumeRequest__Output => {
    const id = o.id ?? 'vol-a';
    return {
      volumeId: id,
      stagingTargetPath: o.at ?? staging(),
      volumeCapability: {
        ...(o.block ? { block: {} } : { mount: { fsType: o.fsType ?? 'ext4', mountFlags: o.flags ?? [], volumeMountGroup: '' } }),
        accessMode: { mode: (o.mode ?? 'SINGLE_NODE_WRITER') as 'SINGLE_NODE_WRITER' },
      },
      volumeContext:
        'volumeContext' in o
          ? (o.volumeContext as Record<string, string>)
          : { nqn: `${P}:${id.split('@')[0]}`, targetAddress: '10.0.0.1', targetPort: '4420' },
      publishContext: o.publishContext ?? {},
      secrets: {},
    };
  };
  const stage = (o: Parameters<typeof req>[0] = {}) => stageVolume(d, req(o), ctx);
  const failure = (p: Promise<unknown>): Promise<[string, string]> =>
    p.then(
      (v) => {
        throw new Error(`resolved with ${JSON.stringify(v)}`);
      },
      (e: Failure) => [e.kind, e.message.split(f.dev).join('DEV').split(kdir).join('K')],
    );
  const shows = (p: string): Array<[string, string]> => table.filter((e) => e.mountPoint === p).map((e) => [`${e.major}:${e.minor}`, e.fsType]);

  describe('a blank device (blkid finds nothing, both ends read as zeros)', () => {
    it('is formatted with the default ext4 and mounted; no grow after a format; the staging dir is made 0750 with its parents', async () => {
      await expect(stage({ fsType: '' })).resolves.toEqual({});
      expect(acts()).toEqual([`mkfs.ext4 -q ${dev}`, `mount -t ext4 ${dev} K/pods/st/globalmount`]);
      expect(statSync(staging()).mode & 0o777).toBe(0o750);
      expect(shows(staging())).toEqual([['259:0', 'ext4']]);
      expect(logs.filter((l) => l.level === 30).map((l) => [l.msg, l.device, l.fsType])).toEqual([
        ['probe found nothing on the device; formatting', path.join(f.dev, 'nvme0n1'), 'ext4'],
      ]);
    });

    it("is formatted with the capability's file system and the volume's mkfsOptions; xfs is mounted with nouuid", async () => {
      f.setSize(ns, XFS_MIN / 512); // exactly the xfs minimum: enough
      await expect(stage({ fsType: 'xfs', volumeContext: { nqn: `${P}:vol-a`, targetAddress: '10.0.0.1', mkfsOptions: '-K' } })).resolves.toEqual({});
      expect(acts()).toEqual([`mkfs.xfs -q -K ${dev}`, `mount -t xfs -o nouuid ${dev} K/pods/st/globalmount`]);
    });

    it('xfs on a device below its minimum is refused before mkfs, by the size sysfs shows now', async () => {
      f.setSize(ns, XFS_MIN / 512);
      writeFileSync(path.join(f.sys, 'dev/block/259:0/size'), `${XFS_MIN / 512 - 1}\n`); // shrunk since the connect
      expect(await failure(stage({ fsType: 'xfs' }))).toEqual([
        'precondition',
        `the volume is ${XFS_MIN - 512} bytes, xfs needs at least ${XFS_MIN}: use ext4 or a larger volume; ${dev} was not formatted`,
      ]);
      expect(acts()).toEqual([]);
    });

    it('with a read-only access mode is refused, not formatted', async () => {
      expect(await failure(stage({ mode: 'SINGLE_NODE_READER_ONLY' }))).toEqual([
        'precondition',
        `${dev} holds no file system and the access mode is read-only; nothing to mount`,
      ]);
      expect(acts()).toEqual([]);
    });

    it('is never formatted when the caller does not allow it (publish recovering a stale staging mount)', async () => {
      const cap = parseCapability(req().volumeCapability);
      const device = await d.connector.attach({ volumeId: 'vol-a', slot: 'vol-a', nqn: `${P}:vol-a`, params: d.opts.connect }, Date.now() + 1000);
      expect(await failure(ensureStagedFs(d, { volumeId: 'vol-a', nqn: `${P}:vol-a` }, device, staging(), cap, false))).toEqual([
        'precondition',
        `${dev} holds no file system; it was staged before, so it is not formatted now`,
      ]);
      expect(acts()).toEqual([]);
      blkid = { code: 0, stdout: 'TYPE=ext4\n' };
      await ensureStagedFs(d, { volumeId: 'vol-a', nqn: `${P}:vol-a` }, device, staging(), cap, false);
      expect(acts()).toEqual([`mount -t ext4 ${dev} K/pods/st/globalmount`, `resize2fs ${dev}`]);
    });

    it('ensureStagedFs without mkfs arguments runs mkfs with none', async () => {
      const cap = parseCapability(req().volumeCapability);
      const device = await d.connector.attach({ volumeId: 'vol-a', slot: 'vol-a', nqn: `${P}:vol-a`, params: d.opts.connect }, Date.now() + 1000);
      await ensureStagedFs(d, { volumeId: 'vol-a', nqn: `${P}:vol-a` }, device, staging(), cap, true);
      expect(acts()).toEqual([`mkfs.ext4 -q ${dev}`, `mount -t ext4 ${dev} K/pods/st/globalmount`]);
    });
  });

  describe('a device that holds something', () => {
    it.each<[string, string, string, string[]]>([
      [
        'ext4, ext4 asked: mounted and grown to the device',
        'TYPE=ext4\n',
        'ext4',
        [`mount -t ext4 ${dev} K/pods/st/globalmount`, `resize2fs ${dev}`],
      ],
      [
        'xfs, no type asked: mounted as xfs (nouuid) and grown at the mount point',
        'TYPE=xfs\n',
        '',
        [`mount -t xfs -o nouuid ${dev} K/pods/st/globalmount`, 'xfs_growfs K/pods/st/globalmount'],
      ],
    ])('%s', async (_what, stdout, fsType, expected) => {
      blkid = { code: 0, stdout };
      await expect(stage({ fsType })).resolves.toEqual({});
      expect(acts()).toEqual(expected);
    });

    it.each<[string, string, string, string]>([
      ['another file system than asked', 'TYPE=xfs\n', 'ext4', `${dev} already holds xfs but the capability asks for ext4; not reformatting`],
      ['a file system the driver does not mount', 'TYPE=btrfs\n', '', `${dev} holds btrfs, which this driver does not mount`],
      ['a partition table', 'PTTYPE=gpt\n', '', `${dev} holds a gpt partition table; not formatting and not mounting it`],
      [
        'a LUKS header (the volume asks for no encryption)',
        'TYPE=crypto_LUKS\nUSAGE=crypto\n',
        'ext4',
        `${dev} holds crypto_LUKS (not a file system); not formatting and not mounting it`,
      ],
    ])('%s: FAILED_PRECONDITION, neither formatted nor mounted', async (_what, stdout, fsType, message) => {
      blkid = { code: 0, stdout };
      expect(await failure(stage({ fsType }))).toEqual(['precondition', message]);
      expect(acts()).toEqual([]);
    });

    it.each<[string, { mode?: string; flags?: string[] }, string]>([
      ['a read-only access mode', { mode: 'SINGLE_NODE_READER_ONLY' }, '-o ro'],
      ['the mount flag ro', { flags: ['ro'] }, '-o ro'],
      ['ro among other flags', { flags: ['noatime', 'ro'] }, '-o noatime,ro'],
    ])('%s: mounted read-only, never grown', async (_what, o, opts) => {
      blkid = { code: 0, stdout: 'TYPE=ext4\n' };
      await expect(stage({ ...o })).resolves.toEqual({});
      expect(acts()).toEqual([`mount -t ext4 ${opts} ${dev} K/pods/st/globalmount`]);
    });

    it('mount flags are passed to the staging mount', async () => {
      blkid = { code: 0, stdout: 'TYPE=ext4\n' };
      await expect(stage({ flags: ['noatime'] })).resolves.toEqual({});
      expect(acts()).toEqual([`mount -t ext4 -o noatime ${dev} K/pods/st/globalmount`, `resize2fs ${dev}`]);
    });

    it('a grow that fails leaves the volume staged at its old size and says why in a warning', async () => {
      blkid = { code: 0, stdout: 'TYPE=ext4\n' };
      grow = { code: 1, stderr: 'resize2fs: Device or resource busy' };
      await expect(stage()).resolves.toEqual({});
      expect(shows(staging())).toEqual([['259:0', 'ext4']]);
      const warn = logs.filter((l) => l.level === 40);
      expect(warn.map((l) => [l.msg, l.device])).toEqual([['grow after mount failed', path.join(f.dev, 'nvme0n1')]]);
      expect(String(warn[0]?.err)).toMatch(/^growing ext4 on .*nvme0n1 failed: resize2fs .* exited 1: resize2fs: Device or resource busy/);
    });
  });

  describe('what the staging path already shows', () => {
    it.each<[string, string, string]>([
      ['ext4, ext4 asked', 'ext4', 'ext4'],
      ['ext4, no type asked', 'ext4', ''],
      ['xfs, xfs asked', 'xfs', 'xfs'],
    ])('this device with %s: done, no tool runs', async (_what, shown, fsType) => {
      mkdirSync(staging(), { recursive: true });
      table.push(entry(staging(), 259, 0, path.join(f.dev, 'nvme0n1'), shown));
      await expect(stage({ fsType })).resolves.toEqual({});
      expect(calls).toEqual([]);
    });

    it('this device with another file system than asked: ALREADY_EXISTS naming both, left mounted', async () => {
      mkdirSync(staging(), { recursive: true });
      table.push(entry(staging(), 259, 0, path.join(f.dev, 'nvme0n1'), 'ext4'));
      expect(await failure(stage({ fsType: 'xfs' }))).toEqual(['conflict', 'K/pods/st/globalmount is staged with ext4, not xfs']);
      expect(calls).toEqual([]);
    });

    it.each<[string, number, number]>([
      ['the same major, another minor', 259, 7],
      ['another major, the same minor', 258, 0],
    ])('a stale mount of the volume (%s, its device gone): unmounted, then the device mounted', async (_what, major, minor) => {
      mkdirSync(staging(), { recursive: true });
      table.push(entry(staging(), major, minor, path.join(f.dev, 'nvme7n1')));
      blkid = { code: 0, stdout: 'TYPE=ext4\n' };
      await expect(stage()).resolves.toEqual({});
      expect(acts()).toEqual(['umount K/pods/st/globalmount', `mount -t ext4 ${dev} K/pods/st/globalmount`, `resize2fs ${dev}`]);
      expect(shows(staging())).toEqual([['259:0', 'ext4']]);
    });

    it("another volume's device: FAILED_PRECONDITION naming the volume, nothing unmounted", async () => {
      mkdirSync(staging(), { recursive: true });
      table.push(entry(staging(), 259, 3, path.join(f.dev, 'nvme3n1')));
      expect(await failure(stage())).toEqual([
        'precondition',
        `K/pods/st/globalmount has DEV/nvme3n1 (ext4) mounted, which is not volume vol-a's: device nvme3n1 (259:3) belongs to ${P}:vol-b; the driver refuses to unmount it`,
      ]);
      expect(acts()).toEqual([]);
      expect(shows(staging())).toEqual([['259:3', 'ext4']]);
    });

    it('a regular file: FAILED_PRECONDITION, nothing mounted', async () => {
      mkdirSync(path.dirname(staging()), { recursive: true });
      writeFileSync(staging(), '');
      expect(await failure(stage())).toEqual(['precondition', 'K/pods/st/globalmount exists and is not a directory']);
      expect(acts()).toEqual([]);
    });

    it('an existing empty directory is used as it is', async () => {
      mkdirSync(staging(), { recursive: true, mode: 0o700 });
      blkid = { code: 0, stdout: 'TYPE=ext4\n' };
      await expect(stage()).resolves.toEqual({});
      expect(statSync(staging()).mode & 0o777).toBe(0o700);
      expect(shows(staging())).toEqual([['259:0', 'ext4']]);
    });
  });

  describe('block, connect and refusals before the host is touched', () => {
    it('block: connected only; no probe, no staging dir, no mount', async () => {
      await expect(stage({ block: true, volumeContext: { nqn: `${P}:vol-a`, targetAddress: '10.0.0.1', accessType: 'block' } })).resolves.toEqual({});
      expect(calls).toEqual([]);
      expect(() => statSync(staging())).toThrow(/ENOENT/);
    });

    it('a volume not yet connected is connected with the publish context overriding the volume context, then staged', async () => {
      f.subsystem(9, `${P}:vol-c`);
      f.namespace(9, 9, 1, { major: 259, minor: 9, sectors: 8192 });
      blkid = { code: 0, stdout: 'TYPE=ext4\n' };
      await expect(stage({ id: 'vol-c', publishContext: { targetPort: '4421' } })).resolves.toEqual({});
      expect(acts()[0]).toBe(
        `nvme connect -t tcp -a 10.0.0.1 -s 4421 -n ${P}:vol-c --hostnqn=nqn.2014-08.org.nvmexpress:uuid:x --ctrl-loss-tmo=-1 --reconnect-delay=5 --keep-alive-tmo=15`,
      );
      expect(shows(staging())).toEqual([['259:9', 'ext4']]);
    });

    it('a node whose connector is not NVMe/TCP (loop) stages a volume without a target address', async () => {
      // The same connector under another kind: the address is required only when the connector is nvme-tcp.
      d.connector = Object.assign(Object.create(d.connector) as NodeDeps['connector'], { kind: 'loop' as const });
      blkid = { code: 0, stdout: 'TYPE=ext4\n' };
      await expect(stage({ volumeContext: { nqn: `${P}:vol-a` } })).resolves.toEqual({});
      expect(shows(staging())).toEqual([['259:0', 'ext4']]);
    });

    it.each<[string, Parameters<typeof req>[0], string]>([
      ['no staging path', { at: '' }, 'staging_target_path is required'],
      [
        'no volume context',
        { volumeContext: undefined as unknown as Record<string, string> },
        'volume_context.nqn is required (it is set by the controller)',
      ],
      ['no target address (NVMe/TCP needs one)', { volumeContext: { nqn: `${P}:vol-a` } }, 'volume_context.targetAddress is required'],
      [
        'a volume created for block staged as a file system',
        { volumeContext: { nqn: `${P}:vol-a`, targetAddress: '10.0.0.1', accessType: 'block' } },
        'volume was created for block access but the capability asks for mount',
      ],
      [
        'mkfsOptions the allow-list refuses',
        { volumeContext: { nqn: `${P}:vol-a`, targetAddress: '10.0.0.1', mkfsOptions: '-F' } },
        'volume_context.mkfsOptions option "-F" is not allowed for ext4; allowed: -m -i -I -N -b -T -J -E -O',
      ],
    ])('%s: INVALID_ARGUMENT, nothing done', async (_what, o, message) => {
      expect(await failure(stage(o))).toEqual(['invalid', message]);
      expect(calls).toEqual([]);
    });

    it('a staging path outside the kubelet dir: INVALID_ARGUMENT naming the field, nothing done', async () => {
      const [kind, message] = await failure(stage({ at: '/tmp/elsewhere/globalmount' }));
      expect([kind, message.slice(0, 60)]).toEqual(['invalid', 'staging_target_path "/tmp/elsewhere/globalmount" is outside:']);
      expect(calls).toEqual([]);
    });

    it('a volume on a backend this node does not reach: FAILED_PRECONDITION before anything is connected', async () => {
      const addr = { host: '127.0.0.1', port: 4420 };
      d.topology = nodeTopology('rds.csi.mikrotik.com', 'default', 'default', [
        { backend: { name: 'default', primary: true, ...addr }, reached: true },
      ]);
      const [kind, message] = await failure(stage({ id: 'vol-a@far' }));
      expect([kind, message]).toEqual([
        'precondition',
        'volume vol-a@far is on RDS backend far, which node n cannot reach (it is not in node.backends; node.backends: default)',
      ]);
      expect(calls).toEqual([]);
    });
  });
});
