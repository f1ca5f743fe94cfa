/**
 * The data path of the demo, as kubelet and the sidecars would drive it: publish, stage, publish to a pod path,
 * write and read a file, stats, snapshot, restore into a new volume and read the data back, expand online, then
 * tear everything down. The all-in-one node uses the loop connector over the simulator's backing files.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { CreateVolumeResponse__Output } from '../generated/csi/v1/CreateVolumeResponse';
import type { CreateSnapshotResponse__Output } from '../generated/csi/v1/CreateSnapshotResponse';
import type { ControllerPublishVolumeResponse__Output } from '../generated/csi/v1/ControllerPublishVolumeResponse';
import type { ControllerExpandVolumeResponse__Output } from '../generated/csi/v1/ControllerExpandVolumeResponse';
import type { NodeGetVolumeStatsResponse__Output } from '../generated/csi/v1/NodeGetVolumeStatsResponse';
import type { NodeExpandVolumeResponse__Output } from '../generated/csi/v1/NodeExpandVolumeResponse';
import type { CsiGrpcClient } from '../grpc/client';
import { capSysResource } from '../node/doctor';
import type { Step, Teardown } from './steps';

const MiB = 1024 * 1024;
const NODE = 'all-in-one';

/**
 * xfs when mkfs.xfs is on PATH (`npm run demo` installs xfsprogs first when root with apt-get): xfs_growfs grows a
 * mounted xfs without CAP_SYS_RESOURCE, while the kernel refuses online ext4 resize (EXT4_IOC_RESIZE_FS) to a
 * process without it: resize2fs says "Permission denied to resize filesystem" (checked in a container without
 * the capability, loop devices, e2fsprogs 1.47 / xfsprogs 6.1). mkfs.xfs wants ≥ 300 MiB.
 */
function fsType(): string {
  return spawnSync('sh', ['-c', 'command -v mkfs.xfs'], { stdio: 'ignore' }).status === 0 ? 'xfs' : 'ext4';
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

export function nodeSteps(ctl: CsiGrpcClient, node: CsiGrpcClient, dir: string, teardown: Teardown): Step[] {
  const fs = fsType();
  const cap = { mount: { fsType: fs, mountFlags: [] }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };
  const text = `written through the node plugin at ${new Date().toISOString()}\n`;
  const vols: Record<string, { id: string; ctx: Record<string, string>; pub: Record<string, string> }> = {};
  let snapshotId = '';
  const paths = (name: string) => ({ staging: path.join(dir, 'staging', name), target: path.join(dir, 'pods', name, 'mount') });

  const provision = async (name: string, extra: object = {}): Promise<string> => {
    const r = await ctl.call<CreateVolumeResponse__Output>(
      'Controller',
      'CreateVolume',
      { name, capacityRange: { requiredBytes: String(320 * MiB) }, volumeCapabilities: [cap], ...extra },
      60000,
    );
    const v = r.volume!;
    teardown.add(`${name}: DeleteVolume`, () => ctl.call('Controller', 'DeleteVolume', { volumeId: v.volumeId }, 30000));
    teardown.add(`${name}: ControllerUnpublishVolume`, () =>
      ctl.call('Controller', 'ControllerUnpublishVolume', { volumeId: v.volumeId, nodeId: NODE }, 30000),
    );
    const p = await ctl.call<ControllerPublishVolumeResponse__Output>(
      'Controller',
      'ControllerPublishVolume',
      { volumeId: v.volumeId, nodeId: NODE, volumeCapability: cap },
      30000,
    );
    vols[name] = { id: v.volumeId, ctx: v.volumeContext, pub: p.publishContext };
    return `${v.volumeId} ${Number(v.capacityBytes) / MiB} MiB, published to ${NODE}`;
  };
  const mount = async (name: string): Promise<string> => {
    const v = vols[name];
    const { staging, target } = paths(name);
    mkdirSync(staging, { recursive: true });
    const base = { volumeId: v.id, publishContext: v.pub, volumeContext: v.ctx, volumeCapability: cap, stagingTargetPath: staging };
    teardown.add(`${name}: NodeUnstageVolume`, () => node.call('Node', 'NodeUnstageVolume', { volumeId: v.id, stagingTargetPath: staging }, 30000));
    await node.call('Node', 'NodeStageVolume', base, 120000);
    teardown.add(`${name}: NodeUnpublishVolume`, () => node.call('Node', 'NodeUnpublishVolume', { volumeId: v.id, targetPath: target }, 30000));
    await node.call('Node', 'NodePublishVolume', { ...base, targetPath: target }, 30000);
    return `${fs} staged at ${staging}, bind-mounted at ${target}`;
  };
  const unmount = async (name: string): Promise<string> => {
    const v = vols[name];
    for (const rpc of ['NodeUnpublishVolume', 'NodeUnstageVolume', 'ControllerUnpublishVolume', 'DeleteVolume'])
      await teardown.run(`${name}: ${rpc}`);
    return `unpublished, unstaged, deleted ${v.id}`;
  };
  const stats = async (name: string): Promise<string> => {
    const r = await node.call<NodeGetVolumeStatsResponse__Output>('Node', 'NodeGetVolumeStats', {
      volumeId: vols[name].id,
      volumePath: paths(name).target,
    });
    const bytes = r.usage.find((u) => u.unit === 'BYTES');
    return `${(Number(bytes?.used) / MiB).toFixed(1)} of ${(Number(bytes?.total) / MiB).toFixed(1)} MiB used; abnormal=${r.volumeCondition?.abnormal}`;
  };

  return [
    { title: `CreateVolume + ControllerPublish demo-data (320 MiB ${fs})`, run: () => provision('demo-data') },
    { title: 'NodeStageVolume + NodePublishVolume (loop device, mkfs)', run: () => mount('demo-data') },
    {
      title: 'write a file through the mount',
      run: () => {
        writeFileSync(path.join(paths('demo-data').target, 'hello.txt'), text);
        return Promise.resolve(`hello.txt sha256 ${sha(text)}…`);
      },
    },
    { title: 'NodeGetVolumeStats', run: () => stats('demo-data') },
    {
      title: 'CreateSnapshot of demo-data',
      run: async () => {
        spawnSync('sync');
        const r = await ctl.call<CreateSnapshotResponse__Output>(
          'Controller',
          'CreateSnapshot',
          { name: 'demo-snap', sourceVolumeId: vols['demo-data'].id },
          60000,
        );
        snapshotId = r.snapshot!.snapshotId;
        teardown.add('DeleteSnapshot', () => ctl.call('Controller', 'DeleteSnapshot', { snapshotId }, 30000));
        return `${snapshotId} ready=${r.snapshot!.readyToUse}`;
      },
    },
    {
      title: 'overwrite the file after the snapshot',
      run: () => {
        writeFileSync(path.join(paths('demo-data').target, 'hello.txt'), 'changed after the snapshot\n');
        return Promise.resolve('hello.txt overwritten');
      },
    },
    {
      title: 'CreateVolume demo-restore from the snapshot',
      run: () => provision('demo-restore', { volumeContentSource: { snapshot: { snapshotId } } }),
    },
    { title: 'stage + publish demo-restore', run: () => mount('demo-restore') },
    {
      title: 'read the file back from the restored volume',
      run: () => {
        const back = readFileSync(path.join(paths('demo-restore').target, 'hello.txt'), 'utf8');
        if (back !== text) throw new Error(`restored data differs: ${JSON.stringify(back)}`);
        return Promise.resolve(`sha256 ${sha(back)}… matches what was written before the snapshot`);
      },
    },
    {
      title: 'ControllerExpandVolume demo-data to 512 MiB',
      run: async () => {
        const r = await ctl.call<ControllerExpandVolumeResponse__Output>(
          'Controller',
          'ControllerExpandVolume',
          { volumeId: vols['demo-data'].id, capacityRange: { requiredBytes: String(512 * MiB) } },
          30000,
        );
        return `${Number(r.capacityBytes) / MiB} MiB on RDS, node expansion required=${r.nodeExpansionRequired}`;
      },
    },
    {
      title: 'NodeExpandVolume (rescan, grow the filesystem online)',
      run: async () => {
        // The node plugin runs in the all-in-one child, which has this process's capabilities.
        if (fs === 'ext4' && (await capSysResource()) === false) {
          return `skipped: ext4 cannot grow while mounted without CAP_SYS_RESOURCE, and mkfs.xfs is not on PATH (install xfsprogs; \`npm run demo\` does as root)`;
        }
        const { staging, target } = paths('demo-data');
        const r = await node.call<NodeExpandVolumeResponse__Output>(
          'Node',
          'NodeExpandVolume',
          { volumeId: vols['demo-data'].id, volumePath: target, stagingTargetPath: staging, capacityRange: { requiredBytes: String(512 * MiB) } },
          60000,
        );
        return `${(Number(r.capacityBytes) / MiB).toFixed(0)} MiB measured; ${await stats('demo-data')}`;
      },
    },
    { title: 'tear down demo-restore', run: () => unmount('demo-restore') },
    { title: 'tear down demo-data', run: () => unmount('demo-data') },
    {
      title: 'DeleteSnapshot',
      run: async () => {
        await teardown.run('DeleteSnapshot');
        return `deleted ${snapshotId}`;
      },
    },
  ];
}
