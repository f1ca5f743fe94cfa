import { status } from '@grpc/grpc-js';
import type { CreateVolumeResponse__Output } from '../generated/csi/v1/CreateVolumeResponse';
import type { GetCapacityResponse__Output } from '../generated/csi/v1/GetCapacityResponse';
import type { ListVolumesResponse__Output } from '../generated/csi/v1/ListVolumesResponse';
import type { ControllerGetVolumeResponse__Output } from '../generated/csi/v1/ControllerGetVolumeResponse';
import type { GetPluginInfoResponse__Output } from '../generated/csi/v1/GetPluginInfoResponse';
import type { ProbeResponse__Output } from '../generated/csi/v1/ProbeResponse';
import type { CsiGrpcClient } from '../grpc/client';
import { expectCode, type Step, type Teardown } from './steps';

/** The scripted lifecycle, driven the way external-provisioner would drive the controller. */
const MiB = 1024 * 1024;
const FS = { mount: { fsType: 'ext4' }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };
const BLOCK_RWX = { block: {}, accessMode: { mode: 'MULTI_NODE_MULTI_WRITER' } };
const PVC = 'pvc-4d1f6c3a-9b2e-4c57-8a10-3e5f7b9d2c11';

export function controllerSteps(ctl: CsiGrpcClient, teardown: Teardown): Step[] {
  const created: string[] = [];
  const remember = (id: string): void => {
    created.push(id);
    teardown.add(`DeleteVolume ${id}`, () => ctl.call('Controller', 'DeleteVolume', { volumeId: id }, 30000));
  };
  const create = (name: string, bytes: number, cap: object) => ({
    name,
    capacityRange: { requiredBytes: String(bytes) },
    volumeCapabilities: [cap],
    parameters: { 'csi.storage.k8s.io/pvc/name': name, 'csi.storage.k8s.io/pvc/namespace': 'demo' },
  });
  return [
    {
      title: 'Identity.GetPluginInfo',
      run: async () => {
        const r = await ctl.call<GetPluginInfoResponse__Output>('Identity', 'GetPluginInfo', {});
        return `${r.name} ${r.vendorVersion}`;
      },
    },
    {
      title: 'Identity.Probe (Redis and RDS answer)',
      run: async () => `ready=${(await ctl.call<ProbeResponse__Output>('Identity', 'Probe', {})).ready?.value}`,
    },
    {
      title: 'Controller.GetCapacity',
      run: async () => {
        const r = await ctl.call<GetCapacityResponse__Output>('Controller', 'GetCapacity', {});
        return `${(Number(r.availableCapacity) / 2 ** 30).toFixed(1)} GiB free on the pool`;
      },
    },
    {
      title: 'CreateVolume pvc-4d1f… (64 MiB, ext4, RWO)',
      run: async () => {
        const r = await ctl.call<CreateVolumeResponse__Output>('Controller', 'CreateVolume', create(PVC, 64 * MiB, FS), 30000);
        remember(r.volume!.volumeId);
        return `${r.volume!.volumeId} ${r.volume!.capacityBytes} B nqn=${r.volume!.volumeContext.nqn}`;
      },
    },
    {
      title: 'CreateVolume again (a sidecar retry): same volume',
      run: async () => {
        const r = await ctl.call<CreateVolumeResponse__Output>('Controller', 'CreateVolume', create(PVC, 64 * MiB, FS), 30000);
        if (r.volume!.volumeId !== created[0]) throw new Error(`retry returned another volume ${r.volume!.volumeId}`);
        return `same id ${r.volume!.volumeId}`;
      },
    },
    {
      title: 'CreateVolume same name, other size',
      run: () => expectCode(ctl.call('Controller', 'CreateVolume', create(PVC, 128 * MiB, FS)), status.ALREADY_EXISTS, 'ALREADY_EXISTS'),
    },
    {
      title: 'CreateVolume RWX filesystem',
      run: () =>
        expectCode(
          ctl.call('Controller', 'CreateVolume', create('rwx-fs', MiB, { mount: {}, accessMode: { mode: 'MULTI_NODE_MULTI_WRITER' } })),
          status.INVALID_ARGUMENT,
          'INVALID_ARGUMENT',
        ),
    },
    {
      title: 'CreateVolume vm-disk (32 MiB, block, RWX)',
      run: async () => {
        const r = await ctl.call<CreateVolumeResponse__Output>('Controller', 'CreateVolume', create('vm-disk', 32 * MiB, BLOCK_RWX), 30000);
        remember(r.volume!.volumeId);
        return `${r.volume!.volumeId} accessType=${r.volume!.volumeContext.accessType}`;
      },
    },
    {
      title: 'ListVolumes (max_entries=1, follow next_token)',
      run: async () => {
        const ids: string[] = [];
        let token = '';
        do {
          const r = await ctl.call<ListVolumesResponse__Output>('Controller', 'ListVolumes', { maxEntries: 1, startingToken: token });
          ids.push(...r.entries.map((e) => e.volume!.volumeId));
          token = r.nextToken;
        } while (token);
        return `${ids.length} volumes: ${ids.join(', ')}`;
      },
    },
    {
      title: 'ControllerGetVolume',
      run: async () => {
        const r = await ctl.call<ControllerGetVolumeResponse__Output>('Controller', 'ControllerGetVolume', { volumeId: created[0] });
        return `abnormal=${r.status?.volumeCondition?.abnormal} (${r.status?.volumeCondition?.message})`;
      },
    },
    ...[0, 1].map((i) => ({
      title: `DeleteVolume #${i + 1} (disk and backing file)`,
      run: async () => {
        await teardown.run(`DeleteVolume ${created[i]}`);
        return `deleted ${created[i]}`;
      },
    })),
    {
      title: 'DeleteVolume again (idempotent)',
      run: async () => {
        await ctl.call('Controller', 'DeleteVolume', { volumeId: created[0] }, 30000);
        return 'OK';
      },
    },
    {
      title: 'ListVolumes',
      run: async () => `${(await ctl.call<ListVolumesResponse__Output>('Controller', 'ListVolumes', {})).entries.length} volumes`,
    },
  ];
}
