/**
 * VM scenario driver (test/vm/scenarios/restart.sh): the plugin is SIGKILLed and restarted between every pair of
 * RPCs and each RPC is re-invoked on the new process, the way kubelet retries after a node plugin crash. Every call
 * must be idempotent (one controller, one mount per path, nothing reformatted) and the data written through the pod's
 * path must survive unpublish, unstage and a new stage.
 */
import path from 'node:path';
import {
  check,
  controllers,
  deviceOf,
  dropCaches,
  log,
  mountAt,
  mountCount,
  MiB,
  nvmetExport,
  nvmetUnexport,
  Plugin,
  randomData,
  runMain,
  sha256,
  sha256File,
  type Stats,
  volume,
  writeSynced,
} from './lib';

const vol = volume(process.env.VOLUME_ID ?? 'pvc-vm-restart-0001', 'ext4');
const plugin = new Plugin();
const data = randomData(4 * MiB);
const sum = sha256(data);

type Verify = () => void;

const staged: Verify = () => {
  const dev = deviceOf(vol.nqn);
  check('  one controller for the NQN', controllers(vol.nqn).length === 1, controllers(vol.nqn).join(','));
  check(
    '  staging path: one ext4 mount of the NQN device',
    mountCount(vol.staging) === 1 && mountAt(vol.staging)?.source === dev && mountAt(vol.staging)?.fsType === 'ext4',
    `${mountCount(vol.staging)} x ${mountAt(vol.staging)?.source}`,
  );
};
const published: Verify = () => {
  staged();
  check(
    '  target path: one mount of the NQN device',
    mountCount(vol.target) === 1 && mountAt(vol.target)?.source === deviceOf(vol.nqn),
    `${mountCount(vol.target)} x ${mountAt(vol.target)?.source}`,
  );
};
const unpublished: Verify = () => {
  staged();
  check('  target path not mounted', mountCount(vol.target) === 0);
};
const unstaged: Verify = () => {
  check('  staging path not mounted', mountCount(vol.staging) === 0);
  check('  controller disconnected', controllers(vol.nqn).length === 0, controllers(vol.nqn).join(','));
};
const dataIntact =
  (dir: () => string): Verify =>
  () => {
    dropCaches();
    check('  data checksum intact', sha256File(path.join(dir(), 'data.bin')) === sum);
  };

async function step(method: string, req: object, verify: Verify, what = method, kill = true): Promise<void> {
  log(`---- ${what}`);
  await plugin.rpc(method, req, what);
  verify();
  if (!kill) return;
  check(`  plugin killed with SIGKILL after ${what}`, await plugin.kill('SIGKILL'));
  check('  plugin restarted', await plugin.start(), `ready ${plugin.lastStartSeconds.toFixed(1)} s after spawn (start ${plugin.starts})`);
  await plugin.rpc(method, req, `${what} re-invoked on the new process`);
  verify();
}

async function main(): Promise<void> {
  plugin.spawn();
  nvmetExport(vol.nqn, 256 * MiB);
  check('rds-csi node ready', await plugin.ready(), `${plugin.lastStartSeconds.toFixed(1)} s`);

  await step('NodeStageVolume', vol.stageReq, staged);
  await step('NodePublishVolume', vol.pubReq, published);
  check('4 MiB written through the target path', writeSynced(path.join(vol.target, 'data.bin'), data) === undefined);
  const stats = async (): Promise<void> => {
    const r = await plugin.call<Stats>('Node', 'NodeGetVolumeStats', { volumeId: vol.volumeId, volumePath: vol.target });
    check(
      '  NodeGetVolumeStats: condition normal, bytes used',
      r.res?.volumeCondition?.abnormal === false && Number(r.res.usage[0]?.used) > 4 * MiB,
      r.details ?? r.res?.usage[0]?.used,
    );
  };
  await step('NodeGetVolumeStats', { volumeId: vol.volumeId, volumePath: vol.target }, () => undefined);
  await stats();
  await step('NodeUnpublishVolume', { volumeId: vol.volumeId, targetPath: vol.target }, unpublished);
  await step('NodeUnstageVolume', { volumeId: vol.volumeId, stagingTargetPath: vol.staging }, unstaged);
  // a new stage finds the file system (not reformatted) and the data
  await step('NodeStageVolume', vol.stageReq, () => (staged(), dataIntact(() => vol.staging)()), 'NodeStageVolume after unstage');
  await step('NodePublishVolume', vol.pubReq, () => (published(), dataIntact(() => vol.target)()), 'NodePublishVolume after restage');
  await step('NodeUnpublishVolume', { volumeId: vol.volumeId, targetPath: vol.target }, unpublished, 'NodeUnpublishVolume (final)', false);
  await step('NodeUnstageVolume', { volumeId: vol.volumeId, stagingTargetPath: vol.staging }, unstaged, 'NodeUnstageVolume (final)', false);
  log(`plugin started ${plugin.starts} times`);
}

runMain('restart', main, async () => {
  plugin.closeClient();
  await plugin.kill('SIGTERM');
  nvmetUnexport(vol.nqn);
});
