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
import type { Step } from './steps';

/**
 * The data path of the demo, as kubelet and the sidecars would drive it: publish, stage, publish to a pod path,
 * write and read a file, stats, snapshot, restore into a new volume and read the data back, expand online, then
 * tear everything down. The all-in-one node uses the loop connector over the simulator's backing files.
 */
const MiB = 1024 * 1024;
const NODE = 'all-in-one';

function fsType(): string {
  // xfs grows online without CAP_SYS_RESOURCE (ext4 online resize needs it); mkfs.xfs wants ≥ 300 MiB.
  return spawnSync('sh', ['-c', 'command -v mkfs.xfs'], { stdio: 'ignore' }).status === 0 ? 'xfs' : 'ext4';
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

export function nodeSteps(ctl: CsiGrpcClient, node: CsiGrpcClient, dir: string): Step[] {
  const fs = fsType();
  const cap = { mount: { fsType: fs, mountFlags: [] }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };
  const text = `written through the node plugin at ${new Date().toISOString()}\n`;
  const vols: Record<string, { id: string; ctx: Record<string, string>; pub: Record<string, string> }> = {};
  let snapshotId = '';
  const paths = (name: string) => ({ staging: path.join(dir, 'staging', name), target: path.join(dir, 'pods', name, 'mount') });

  const provision = async (name: string, extra: object = {}): Promise<string> => {
    const r = await ctl.call<CreateVolumeResponse__Output>('Controller', 'CreateVolume', { name, capacityRange: { requiredBytes: String(320 * MiB) }, volumeCapabilities: [cap], ...extra }, 60000);
    const v = r.volume!;
    const p = await ctl.call<ControllerPublishVolumeResponse__Output>('Controller', 'ControllerPublishVolume', { volumeId: v.volumeId, nodeId: NODE, volumeCapability: cap }, 30000);
    vols[name] = { id: v.volumeId, ctx: v.volumeContext, pub: p.publishContext };
    return `${v.volumeId} ${Number(v.capacityBytes) / MiB} MiB, published to ${NODE}`;
  };
  const mount = async (name: string): Promise<string> => {
    const v = vols[name];
    const { staging, target } = paths(name);
    mkdirSync(staging, { recursive: true });
    const base = { volumeId: v.id, publishContext: v.pub, volumeContext: v.ctx, volumeCapability: cap, stagingTargetPath: staging };
    await node.call('Node', 'NodeStageVolume', base, 120000);
    await node.call('Node', 'NodePublishVolume', { ...base, targetPath: target }, 30000);
    return `${fs} staged at ${staging}, bind-mounted at ${target}`;
  };
  const unmount = async (name: string): Promise<string> => {
    const v = vols[name];
    const { staging, target } = paths(name);
    await node.call('Node', 'NodeUnpublishVolume', { volumeId: v.id, targetPath: target }, 30000);
    await node.call('Node', 'NodeUnstageVolume', { volumeId: v.id, stagingTargetPath: staging }, 30000);
    await ctl.call('Controller', 'ControllerUnpublishVolume', { volumeId: v.id, nodeId: NODE }, 30000);
    await ctl.call('Controller', 'DeleteVolume', { volumeId: v.id }, 30000);
    return `unpublished, unstaged, deleted ${v.id}`;
  };
  const stats = async (name: string): Promise<string> => {
    const r = await node.call<NodeGetVolumeStatsResponse__Output>('Node', 'NodeGetVolumeStats', { volumeId: vols[name].id, volumePath: paths(name).target });
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
        const r = await ctl.call<CreateSnapshotResponse__Output>('Controller', 'CreateSnapshot', { name: 'demo-snap', sourceVolumeId: vols['demo-data'].id }, 60000);
        snapshotId = r.snapshot!.snapshotId;
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
    { title: 'CreateVolume demo-restore from the snapshot', run: () => provision('demo-restore', { volumeContentSource: { snapshot: { snapshotId } } }) },
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
        const r = await ctl.call<ControllerExpandVolumeResponse__Output>('Controller', 'ControllerExpandVolume', { volumeId: vols['demo-data'].id, capacityRange: { requiredBytes: String(512 * MiB) } }, 30000);
        return `${Number(r.capacityBytes) / MiB} MiB on RDS, node expansion required=${r.nodeExpansionRequired}`;
      },
    },
    {
      title: 'NodeExpandVolume (rescan, grow the filesystem online)',
      run: async () => {
        const { staging, target } = paths('demo-data');
        const r = await node.call<NodeExpandVolumeResponse__Output>('Node', 'NodeExpandVolume', { volumeId: vols['demo-data'].id, volumePath: target, stagingTargetPath: staging, capacityRange: { requiredBytes: String(512 * MiB) } }, 60000);
        return `${(Number(r.capacityBytes) / MiB).toFixed(0)} MiB measured; ${await stats('demo-data')}`;
      },
    },
    { title: 'tear down demo-restore', run: () => unmount('demo-restore') },
    { title: 'tear down demo-data', run: () => unmount('demo-data') },
    {
      title: 'DeleteSnapshot',
      run: async () => {
        await ctl.call('Controller', 'DeleteSnapshot', { snapshotId }, 30000);
        return `deleted ${snapshotId}`;
      },
    },
  ];
}
