/**
 * The demo's second RDS (issue 16 item 5): the all-in-one runs with two embedded simulators (`--simulators 2`), the
 * primary and the extra backend `rds-b`. These steps show the capacity of each backend's topology segment, create a
 * volume on rds-b through a StorageClass parameter (`backend: rds-b`), check that its id names the backend
 * (`<slot>@rds-b`) and that its disk exists on rds-b's simulator and not on the primary's (asked over the RouterOS
 * API of each), then delete it.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ControllerPublishVolumeResponse__Output } from '../generated/csi/v1/ControllerPublishVolumeResponse';
import type { CreateVolumeResponse__Output } from '../generated/csi/v1/CreateVolumeResponse';
import type { GetCapacityResponse__Output } from '../generated/csi/v1/GetCapacityResponse';
import type { GetPluginInfoResponse__Output } from '../generated/csi/v1/GetPluginInfoResponse';
import type { NodeGetInfoResponse__Output } from '../generated/csi/v1/NodeGetInfoResponse';
import { rdsSchema } from '../config/schema';
import { splitId } from '../domain/backend-id';
import type { CsiGrpcClient } from '../grpc/client';
import { rdsFromConfig } from '../rds/factory';
import type { Step, Teardown } from './steps';

const MiB = 1024 * 1024;

/** One embedded simulator as all-in-one announces it: `SIMULATOR <backend> <host:port> <data dir>`. */
export interface DemoSimulator {
  name: string;
  host: string;
  port: number;
  dataDir: string;
}

export function parseSimulators(stdout: string): DemoSimulator[] {
  return [...stdout.matchAll(/^SIMULATOR (\S+) (\S+):(\d+) (\S+)$/gm)].map((m) => ({ name: m[1], host: m[2], port: Number(m[3]), dataDir: m[4] }));
}

/**
 * A backend's topology segment (the multi-RDS design, README "Several RDS backends"): the primary keeps
 * `<driver>/backend=<name>`, an extra backend B has its own key `<driver>/backend.<B>=true`.
 */
export function backendSegment(driver: string, name: string, primary: boolean): Record<string, string> {
  return primary ? { [`${driver}/backend`]: name } : { [`${driver}/backend.${name}`]: 'true' };
}

/** Whether the simulator holds a disk with this slot, asked over its RouterOS API. */
async function hasDisk(sim: DemoSimulator, slot: string): Promise<boolean> {
  const rds = rdsFromConfig(rdsSchema.parse({ host: sim.host, port: sim.port, insecurePlaintext: true }));
  try {
    return (await rds.getDisk(slot)) !== undefined;
  } finally {
    await rds.close();
  }
}

const CAP = { mount: { fsType: 'ext4', mountFlags: [] }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };
const NODE = 'all-in-one';

/** `dataPath` (root): also publish and stage the rds-b volume on the node (a loop device over rds-b's file). */
export function backendSteps(ctl: CsiGrpcClient, node: CsiGrpcClient, sims: DemoSimulator[], teardown: Teardown, dataPath?: { dir: string }): Step[] {
  const [primary, second] = sims;
  let driver = '';
  let volumeId = '';
  let slot = '';
  let volumeContext: Record<string, string> = {};
  const capacities = async (): Promise<string> => {
    driver = (await ctl.call<GetPluginInfoResponse__Output>('Identity', 'GetPluginInfo', {})).name;
    const parts: string[] = [];
    for (const [i, sim] of sims.entries()) {
      // As external-provisioner asks for a StorageClass with `backends: <all>`: its parameters and each segment.
      const r = await ctl.call<GetCapacityResponse__Output>('Controller', 'GetCapacity', {
        parameters: { backends: sims.map((x) => x.name).join(',') },
        accessibleTopology: { segments: backendSegment(driver, sim.name, i === 0) },
      });
      parts.push(`${sim.name} ${(Number(r.availableCapacity) / 2 ** 30).toFixed(1)} GiB free`);
    }
    return parts.join(', ');
  };
  return [
    {
      title: `simulators: ${sims.map((s) => s.name).join(' + ')} (two RDS backends)`,
      run: () => {
        if (!second) throw new Error('the all-in-one announced one simulator: it was not started with --simulators 2');
        return Promise.resolve(sims.map((s) => `${s.name} at ${s.host}:${s.port}`).join(', '));
      },
    },
    { title: 'Controller.GetCapacity per backend segment', run: capacities },
    {
      title: 'NodeGetInfo: the node reaches both backends',
      run: async () => {
        const r = await node.call<NodeGetInfoResponse__Output>('Node', 'NodeGetInfo', {});
        const segments = r.accessibleTopology?.segments ?? {};
        for (const [i, sim] of sims.entries()) {
          for (const [k, v] of Object.entries(backendSegment(driver, sim.name, i === 0))) {
            if (segments[k] !== v) throw new Error(`NodeGetInfo has no segment ${k}=${v}: ${JSON.stringify(segments)}`);
          }
        }
        return Object.entries(segments)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ');
      },
    },
    {
      title: `CreateVolume demo-b (64 MiB) with parameter backend: ${second?.name}`,
      run: async () => {
        const r = await ctl.call<CreateVolumeResponse__Output>(
          'Controller',
          'CreateVolume',
          {
            name: 'demo-b',
            capacityRange: { requiredBytes: String(64 * MiB) },
            volumeCapabilities: [CAP],
            parameters: { backend: second.name },
          },
          30000,
        );
        volumeId = r.volume!.volumeId;
        volumeContext = r.volume!.volumeContext;
        teardown.add('demo-b: DeleteVolume', () => ctl.call('Controller', 'DeleteVolume', { volumeId }, 30000));
        const placed = splitId(volumeId);
        if (placed?.backend !== second.name) throw new Error(`volume id ${volumeId} does not end in @${second.name}`);
        slot = placed.slot;
        const topo = r.volume!.accessibleTopology.map((t) => JSON.stringify(t.segments)).join(' ');
        const want = JSON.stringify(backendSegment(driver, second.name, false));
        if (topo !== want) throw new Error(`accessible_topology ${topo}, expected ${want}`);
        return `${volumeId} (slot ${slot} on ${second.name}), accessible from ${want}`;
      },
    },
    {
      title: `its disk is on ${second?.name}'s simulator only`,
      run: async () => {
        const where = await Promise.all(sims.map(async (s) => [s.name, await hasDisk(s, slot)] as const));
        const on = where.filter(([, has]) => has).map(([name]) => name);
        if (on.length !== 1 || on[0] !== second.name) throw new Error(`disk ${slot} found on [${on.join(', ')}], expected on ${second.name} only`);
        return where.map(([name, has]) => `${name}: ${has ? 'disk ' + slot : 'no disk'}`).join('; ');
      },
    },
    ...(dataPath
      ? [
          {
            title: "ControllerPublish + NodeStage demo-b (loop, rds-b's file)",
            run: async (): Promise<string> => {
              const staging = path.join(dataPath.dir, 'staging', 'demo-b');
              mkdirSync(staging, { recursive: true });
              teardown.add('demo-b: ControllerUnpublishVolume', () =>
                ctl.call('Controller', 'ControllerUnpublishVolume', { volumeId, nodeId: NODE }, 30000),
              );
              const p = await ctl.call<ControllerPublishVolumeResponse__Output>(
                'Controller',
                'ControllerPublishVolume',
                { volumeId, nodeId: NODE, volumeCapability: CAP },
                30000,
              );
              teardown.add('demo-b: NodeUnstageVolume', () =>
                node.call('Node', 'NodeUnstageVolume', { volumeId, stagingTargetPath: staging }, 30000),
              );
              await node.call(
                'Node',
                'NodeStageVolume',
                { volumeId, publishContext: p.publishContext, volumeContext, volumeCapability: CAP, stagingTargetPath: staging },
                120000,
              );
              return `target ${p.publishContext.targetAddress}:${p.publishContext.targetPort}, ext4 staged at ${staging}`;
            },
          },
          {
            title: 'NodeUnstage + ControllerUnpublish demo-b',
            run: async (): Promise<string> => {
              await teardown.run('demo-b: NodeUnstageVolume');
              await teardown.run('demo-b: ControllerUnpublishVolume');
              return 'unstaged, unpublished';
            },
          },
        ]
      : []),
    {
      title: 'DeleteVolume demo-b (on its backend)',
      run: async () => {
        await teardown.run('demo-b: DeleteVolume');
        if (await hasDisk(second, slot)) throw new Error(`disk ${slot} is still on ${second.name}`);
        return `deleted ${volumeId}; ${primary.name} never had it`;
      },
    },
  ];
}
