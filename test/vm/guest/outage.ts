/**
 * VM scenario driver (test/vm/scenarios/outage.sh, outage-60.sh): target outages with writes in flight, the way an
 * RDS reboot looks to a node. A volume is staged (ext4) and published by the real plugin; for each outage length in
 * OUTAGES (seconds, comma-separated) the port→subsystem link is removed in configfs, a 4 MiB write with fsync is
 * started through the pod's path, NodeGetVolumeStats is asked during the outage, and the link is restored after the
 * outage length, while a stream of O_DIRECT 64 KiB writes runs across the cut. Checked: the controller leaves `live`,
 * the write and the stream block instead of failing, the mount stays, the
 * condition is abnormal during the outage and normal after, the controller is live again, the write completes,
 * every checksum matches after dropping caches, the device keeps its numbers, unpublish/unstage work.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  backgroundWrite,
  check,
  controllers,
  ctrlState,
  devNumbers,
  deviceOf,
  dropCaches,
  elapsed,
  log,
  mountAt,
  MiB,
  nvmetExport,
  nvmetLink,
  nvmetUnexport,
  nvmetUnlink,
  Plugin,
  randomData,
  runMain,
  sha256,
  sha256File,
  sleep,
  type Stats,
  volume,
  waitFor,
  writeSynced,
} from './lib';

const OUTAGES = (process.env.OUTAGES ?? '1,10').split(',').map(Number);
const vol = volume(process.env.VOLUME_ID ?? 'pvc-vm-outage-0001', 'ext4');
const plugin = new Plugin();

/**
 * A stream of O_DIRECT 64 KiB writes (one dd per record, each waiting for the device) running across the cut: one is
 * in flight when the target goes away. Progress (records done) and the first failure are files the driver reads.
 */
function streamWriter(
  tag: string,
  dst: string,
): { src: Buffer; progress: () => number; failed: () => string | undefined; stop: () => Promise<void> } {
  const src = randomData(16 * MiB);
  const dir = `/tmp/stream-${tag}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/src`, src);
  const script = `i=0; while [ ! -e ${dir}/stop ]; do dd if=${dir}/src of=${dst} bs=65536 count=1 skip=$i seek=$i oflag=direct conv=notrunc status=none 2>${dir}/err || { echo "record $i: $(cat ${dir}/err)" > ${dir}/failed; exit 1; }; i=$((i+1)); echo $i > ${dir}/progress; [ $i -ge 256 ] && i=0; done`;
  const child = spawn('sh', ['-c', script], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const read = (f: string): string | undefined => {
    try {
      return readFileSync(`${dir}/${f}`, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  return {
    src,
    progress: () => Number(read('progress') ?? '0'),
    failed: () => read('failed'),
    stop: async () => {
      writeFileSync(`${dir}/stop`, '');
      await Promise.race([exited, sleep(30000)]);
    },
  };
}

async function outage(seconds: number, dev: string, ctrl: string, sums: Map<string, string>): Promise<void> {
  const tag = `${seconds} s outage`;
  const streamFile = path.join(vol.target, `stream-${seconds}.bin`);
  const stream = streamWriter(String(seconds), streamFile);
  const streaming = await waitFor(10000, () => stream.progress() >= 3, 50);
  check(`${tag}: O_DIRECT write stream running before the cut`, streaming, `${stream.progress()} records`);
  const src = `/tmp/outage-${seconds}.src`;
  const data = randomData(4 * MiB);
  writeFileSync(src, data);
  const file = path.join(vol.target, `outage-${seconds}.bin`);

  const tOut = Date.now();
  log(`OUTAGE ${seconds} s: unlinking port 1 -> ${vol.nqn}`);
  nvmetUnlink(vol.nqn);
  const left = await waitFor(10000, () => ctrlState(ctrl) !== 'live', 50);
  check(`${tag}: controller left live (${ctrlState(ctrl)}, ${elapsed(tOut)} s after the unlink)`, left);
  const writer = backgroundWrite(src, file);
  await sleep(300);
  const atCut = stream.progress();
  const restoreAt = tOut + seconds * 1000;
  let statsDuring: { res?: Stats; code?: number; details?: string; ms: number; at?: number } | undefined;
  const statsCall = plugin.call<Stats>('Node', 'NodeGetVolumeStats', { volumeId: vol.volumeId, volumePath: vol.target }, 30000).then((r) => {
    statsDuring = { ...r, at: Date.now() };
  });
  await sleep(Math.max(0, restoreAt - 250 - Date.now()));
  check(`${tag}: write issued during the outage is blocked, not failed`, writer.running());
  check(`${tag}: publish target still mounted`, mountAt(vol.target)?.source === dev, mountAt(vol.target)?.source);
  check(`${tag}: staging path still mounted`, mountAt(vol.staging)?.source === dev, mountAt(vol.staging)?.source);
  const beforeRestore = stream.progress();
  check(
    `${tag}: the write stream is blocked during the outage (no record completes, none fails)`,
    beforeRestore === atCut && !stream.failed(),
    `${atCut} -> ${beforeRestore} records${stream.failed() ? `; ${stream.failed()}` : ''}`,
  );
  await sleep(Math.max(0, restoreAt - Date.now()));
  const answeredInOutage = statsDuring !== undefined && (statsDuring.at ?? Infinity) <= restoreAt;

  log(`RESTORE after ${elapsed(tOut)} s: relinking`);
  const tRe = Date.now();
  nvmetLink(vol.nqn);
  if (answeredInOutage && statsDuring) {
    const c = statsDuring.res?.volumeCondition;
    check(`${tag}: NodeGetVolumeStats answered during the outage`, statsDuring.code === undefined, statsDuring.details ?? `${statsDuring.ms} ms`);
    check(`${tag}: VolumeCondition abnormal during the outage`, c?.abnormal === true, c ? c.message : 'no condition');
  } else {
    log(
      `${tag}: NodeGetVolumeStats not answered within the outage (${statsDuring ? `${statsDuring.ms} ms` : 'pending'}); condition during the outage not measured`,
    );
  }
  const live = await waitFor(60000, () => ctrlState(ctrl) === 'live', 50);
  check(`${tag}: controller live again (${elapsed(tRe)} s after restore)`, live, ctrlState(ctrl));
  const code = await Promise.race([writer.done, sleep(60000).then(() => 'timeout' as const)]);
  check(`${tag}: write in flight completed after restore (${elapsed(tRe)} s after restore)`, code === 0, `exit ${String(code)}`);
  await statsCall;
  sums.set(file, sha256(data));
  const resumed = await waitFor(20000, () => stream.progress() > beforeRestore + 2 || !!stream.failed(), 50);
  check(
    `${tag}: the write stream resumes after restore without an error`,
    resumed && !stream.failed(),
    `${beforeRestore} -> ${stream.progress()} records${stream.failed() ? `; ${stream.failed()}` : ''}`,
  );
  await stream.stop();
  const records = Math.min(256, stream.progress());
  dropCaches();
  check(
    `${tag}: the ${records} streamed records read back intact`,
    sha256File(streamFile, records * 65536) === sha256(stream.src.subarray(0, records * 65536)),
  );

  const after = await plugin.call<Stats>('Node', 'NodeGetVolumeStats', { volumeId: vol.volumeId, volumePath: vol.target }, 30000);
  check(
    `${tag}: VolumeCondition normal after restore`,
    after.res?.volumeCondition?.abnormal === false,
    after.res?.volumeCondition?.message ?? after.details,
  );
  check(`${tag}: same device after reconnect`, deviceOf(vol.nqn) === dev, deviceOf(vol.nqn));
  dropCaches();
  for (const [f, sum] of sums) check(`${tag}: checksum of ${path.basename(f)} after dropping caches`, sha256File(f) === sum);
  log(`${tag}: total ${elapsed(tOut)} s`);
}

async function main(): Promise<void> {
  plugin.spawn();
  nvmetExport(vol.nqn, 256 * MiB);
  check('rds-csi node ready', await plugin.ready(), `${plugin.lastStartSeconds.toFixed(1)} s`);
  await plugin.rpc('NodeStageVolume', vol.stageReq, 'NodeStageVolume (ext4)');
  await plugin.rpc('NodePublishVolume', vol.pubReq);
  const dev = deviceOf(vol.nqn);
  const ctrl = controllers(vol.nqn)[0];
  check('device and controller found by NQN', !!dev && !!ctrl, `${dev} ${ctrl}`);
  if (!dev || !ctrl) return;
  const numbers = devNumbers(dev);
  const sums = new Map<string, string>();
  const base = randomData(8 * MiB);
  const baseFile = path.join(vol.target, 'base.bin');
  check('8 MiB written through the target path', writeSynced(baseFile, base) === undefined);
  sums.set(baseFile, sha256(base));
  const st = await plugin.call<Stats>('Node', 'NodeGetVolumeStats', { volumeId: vol.volumeId, volumePath: vol.target });
  check('VolumeCondition normal before any outage', st.res?.volumeCondition?.abnormal === false, st.res?.volumeCondition?.message ?? st.details);

  for (const s of OUTAGES) await outage(s, dev, ctrl, sums);

  check('device numbers unchanged through every outage', devNumbers(dev) === numbers, `${devNumbers(dev)} vs ${numbers}`);
  await plugin.rpc('NodeUnpublishVolume', { volumeId: vol.volumeId, targetPath: vol.target });
  await plugin.rpc('NodeUnstageVolume', { volumeId: vol.volumeId, stagingTargetPath: vol.staging });
  check('controller disconnected after unstage', controllers(vol.nqn).length === 0, controllers(vol.nqn).join(','));
  // stage again from a fresh connection: every file written across the outages is on the target
  await plugin.rpc('NodeStageVolume', vol.stageReq, 'NodeStageVolume again (fresh connection)');
  for (const [f, sum] of sums) {
    const p = path.join(vol.staging, path.basename(f));
    check(`checksum of ${path.basename(f)} after unstage + stage`, sha256File(p) === sum);
  }
  await plugin.rpc('NodeUnstageVolume', { volumeId: vol.volumeId, stagingTargetPath: vol.staging }, 'NodeUnstageVolume (final)');
}

runMain('outage', main, async () => {
  plugin.closeClient();
  await plugin.kill('SIGTERM');
  try {
    nvmetUnexport(vol.nqn);
  } catch (err) {
    log(`unexport: ${(err as Error).message}`);
  }
});
