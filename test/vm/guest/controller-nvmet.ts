/**
 * VM scenario driver (test/vm/scenarios/controller-nvmet.sh): the whole driver against the kernel target. In this
 * process: a private redis-server, the RouterOS simulator with its nvmet backend and the controller with an
 * in-process worker (storage-side fencing on); as its own process: the real node plugin (nvme-tcp). The CSI calls are
 * the sidecars' and kubelet's, with the contexts the controller returns:
 * CreateVolume → ControllerPublishVolume (allowed host = the node's host NQN) → NodeStage/Publish → data →
 * ControllerExpandVolume + NodeExpandVolume → NodeUnpublish/Unstage → ControllerUnpublishVolume → DeleteVolume.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { hostNqnForNode } from '../../../src/domain/host-nqn';
import { controllerCall as call, startDriverStack } from './driver-stack';
import {
  check,
  controllers,
  devSizeBytes,
  deviceOf,
  dropCaches,
  hostNqnOf,
  log,
  MiB,
  mountAt,
  NVMET,
  Plugin,
  randomData,
  runMain,
  sha256,
  sha256File,
  type Stats,
  waitFor,
  writeSynced,
} from './lib';

const NODE = 'vm1';
const CTL_SOCKET = '/run/csi/controller.sock';
const DATA_DIR = '/var/lib/rds-csi-vm/sim';
const plugin = new Plugin({ nodeId: NODE });
const closers: Array<() => Promise<void>> = [];
const subsystems = (): string[] => readdirSync(`${NVMET}/subsystems`);
const cap = { mount: { fsType: 'ext4', mountFlags: [] }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };

async function main(): Promise<void> {
  plugin.spawn();
  const { ctl } = await startDriverStack({ socket: CTL_SOCKET, dataDir: DATA_DIR, poolSizeBytes: 8 * 1024 * MiB, nodes: [NODE], closers });
  check('redis-server, simulator --nvmet, controller + worker started', true);

  const created = await call<{ volume: { volumeId: string; capacityBytes: string; volumeContext: Record<string, string> } }>(ctl, 'CreateVolume', {
    name: 'pvc-vm-e2e',
    capacityRange: { requiredBytes: String(256 * MiB) },
    volumeCapabilities: [cap],
    parameters: { 'csi.storage.k8s.io/pvc/name': 'data', 'csi.storage.k8s.io/pvc/namespace': 'vm' },
  });
  const v = created?.volume;
  if (!v) return;
  log(`CreateVolume: ${v.volumeId} ${v.capacityBytes} B ${JSON.stringify(v.volumeContext)}`);
  const nqn = v.volumeContext.nqn ?? '';
  check(
    'volume_context has nqn, targetAddress 127.0.0.1, targetPort 4420',
    !!nqn && v.volumeContext.targetAddress === '127.0.0.1' && v.volumeContext.targetPort === '4420',
  );
  check('the disk is a kernel subsystem', subsystems().includes(nqn), subsystems().join(','));

  const pub = await call<{ publishContext: Record<string, string> }>(
    ctl,
    'ControllerPublishVolume',
    { volumeId: v.volumeId, nodeId: NODE, volumeCapability: cap },
    `ControllerPublishVolume to ${NODE}`,
  );
  const hostNqn = hostNqnForNode(NODE);
  const allowed = existsSync(`${NVMET}/subsystems/${nqn}`) ? readdirSync(`${NVMET}/subsystems/${nqn}/allowed_hosts`) : [];
  const anyHost = existsSync(`${NVMET}/subsystems/${nqn}`) ? readFileSync(`${NVMET}/subsystems/${nqn}/attr_allow_any_host`, 'utf8').trim() : '?';
  check(
    `storage-side fencing: only ${NODE}'s host NQN allowed on the target`,
    allowed.join() === hostNqn && anyHost === '0',
    `${allowed.join(' ')} any=${anyHost}`,
  );

  check('rds-csi node ready', await plugin.ready(), `${plugin.lastStartSeconds.toFixed(1)} s`);
  const staging = `/var/lib/kubelet/plugins/kubernetes.io/csi/rds.csi.mikrotik.com/${v.volumeId}/globalmount`;
  const target = `/var/lib/kubelet/pods/pod-e2e/volumes/kubernetes.io~csi/${v.volumeId}/mount`;
  const base = {
    volumeId: v.volumeId,
    volumeContext: v.volumeContext,
    publishContext: pub?.publishContext ?? {},
    volumeCapability: cap,
    stagingTargetPath: staging,
  };
  await plugin.rpc('NodeStageVolume', base, "NodeStageVolume with the controller's contexts");
  const dev = deviceOf(nqn);
  check(
    'connected with the node host NQN, device found',
    !!dev && controllers(nqn).map(hostNqnOf).join() === hostNqn,
    `${dev} ${controllers(nqn).map(hostNqnOf).join()}`,
  );
  await plugin.rpc('NodePublishVolume', { ...base, targetPath: target });
  const data = randomData(8 * MiB);
  check('8 MiB written through the pod path', writeSynced(path.join(target, 'data.bin'), data) === undefined);

  const exp = await call<{ capacityBytes: string; nodeExpansionRequired: boolean }>(ctl, 'ControllerExpandVolume', {
    volumeId: v.volumeId,
    capacityRange: { requiredBytes: String(512 * MiB) },
    volumeCapability: cap,
  });
  check(
    'ControllerExpandVolume: 512 MiB, node expansion required',
    exp?.capacityBytes === String(512 * MiB) && exp.nodeExpansionRequired === true,
    JSON.stringify(exp),
  );
  const before = await plugin.call<Stats>('Node', 'NodeGetVolumeStats', { volumeId: v.volumeId, volumePath: target });
  const nexp = await plugin.rpc<{ capacityBytes: string }>('NodeExpandVolume', {
    volumeId: v.volumeId,
    volumePath: target,
    stagingTargetPath: staging,
    capacityRange: { requiredBytes: String(512 * MiB) },
    volumeCapability: cap,
  });
  const after = await plugin.call<Stats>('Node', 'NodeGetVolumeStats', { volumeId: v.volumeId, volumePath: target });
  log(
    `expansion: device ${dev ? devSizeBytes(dev) : 0} B, capacity_bytes ${nexp?.capacityBytes}, ext4 ${before.res?.usage[0]?.total} -> ${after.res?.usage[0]?.total} B`,
  );
  check(
    'device and file system grew to the new size',
    !!dev && devSizeBytes(dev) === 512 * MiB && Number(after.res?.usage[0]?.total) > 1.8 * Number(before.res?.usage[0]?.total),
  );
  dropCaches();
  check('data intact', sha256File(path.join(target, 'data.bin')) === sha256(data));

  await plugin.rpc('NodeUnpublishVolume', { volumeId: v.volumeId, targetPath: target });
  await plugin.rpc('NodeUnstageVolume', { volumeId: v.volumeId, stagingTargetPath: staging });
  check('node disconnected, nothing mounted', controllers(nqn).length === 0 && !mountAt(staging));
  await call(ctl, 'ControllerUnpublishVolume', { volumeId: v.volumeId, nodeId: NODE });
  const left = existsSync(`${NVMET}/subsystems/${nqn}`) ? readdirSync(`${NVMET}/subsystems/${nqn}/allowed_hosts`) : [];
  log(
    `after ControllerUnpublishVolume: allowed hosts [${left.join(' ')}], any host ${existsSync(`${NVMET}/subsystems/${nqn}`) ? readFileSync(`${NVMET}/subsystems/${nqn}/attr_allow_any_host`, 'utf8').trim() : '-'}`,
  );
  check(`${NODE}'s host NQN no longer allowed after ControllerUnpublishVolume`, !left.includes(hostNqn), left.join(' '));
  await call(ctl, 'DeleteVolume', { volumeId: v.volumeId });
  check('DeleteVolume: subsystem removed from the kernel target', await waitFor(5000, () => !subsystems().includes(nqn)), subsystems().join(','));
}

runMain('controller-nvmet', main, async () => {
  plugin.closeClient();
  await plugin.kill('SIGTERM');
  for (const c of closers.reverse()) await c().catch((err: Error) => log(`close: ${err.message}`));
  check('everything stopped: no subsystem left in configfs', subsystems().length === 0, subsystems().join(','));
});
