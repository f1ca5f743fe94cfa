/**
 * VM scenario driver (test/vm/scenarios/lifecycle.sh). Cheap checks grouped into one boot and one plugin start:
 *  1. orphan cleanup at plugin start: a managed connection whose namespace is gone is disconnected; a non-managed
 *     subsystem, a look-alike prefix (both without namespace) and a managed connection with a device stay;
 *  2. xfs lifecycle: stage formats xfs, publish, data, unpublish, unstage, stage again without reformatting;
 *  3. block lifecycle: stage connects only, publish makes a device node (mknod) at the target, re-publish is
 *     idempotent, data written through the node read back by checksum, stats on the node, unpublish removes it,
 *     unstage disconnects, stage + publish again: data intact;
 *  4. forced controller renumbering: the volume is disconnected behind the plugin's back, another subsystem takes its
 *     controller number, the volume reconnects under a new device name; NodeGetVolumeStats is abnormal meanwhile;
 *     re-publish finds the new device, recovers the stale staging mount and the stale target, data intact;
 *  5. device unreadable at stage time: (a) namespace disabled → stage fails, (b) path down with fast_io_fail 0 so
 *     reads fail with EIO → stage fails; neither formats; after the device is back, stage mounts the old file system.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  check,
  controllers,
  ctrlState,
  devNumbers,
  deviceOf,
  dropCaches,
  elapsed,
  fabricsConnect,
  log,
  MiB,
  mountAt,
  mountCount,
  nodeNumbers,
  nvmetExport,
  nvmetLink,
  nvmetNsEnable,
  nvmetUnexport,
  nvmetUnlink,
  Plugin,
  PREFIX,
  randomData,
  RESULTS,
  runMain,
  sh,
  sha256,
  sha256File,
  type Stats,
  volume,
  waitFor,
  writeSynced,
} from './lib';

const HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:5e1f0000-0000-4000-8000-0000000000c1';
const plugin = new Plugin({ hostNqn: HOSTNQN });
const exported: string[] = [];

function exportNs(nqn: string, size = 128 * MiB): void {
  nvmetExport(nqn, size);
  exported.push(nqn);
}

const connect = (nqn: string, extra: string[] = []): { code: number | null; out: string } =>
  sh('nvme', [
    'connect',
    '-t',
    'tcp',
    '-a',
    '127.0.0.1',
    '-s',
    '4420',
    '-n',
    nqn,
    `--hostnqn=${HOSTNQN}`,
    '--ctrl-loss-tmo=-1',
    '--reconnect-delay=1',
    ...extra,
  ]);

const stats = (volumeId: string, volumePath: string): Promise<{ res?: Stats; code?: number; details?: string }> =>
  plugin.call<Stats>('Node', 'NodeGetVolumeStats', { volumeId, volumePath }, 30000);

// ---- 1. orphans ------------------------------------------------------------------------------------------------------------
const ORPHAN = `${PREFIX}:pvc-vm-orphan-a`;
const FOREIGN = 'nqn.2026-11.com.example.other:boot-disk';
const LOOKALIKE = `${PREFIX}x:pvc-vm-orphan-b`;
const KEPT = `${PREFIX}:pvc-vm-orphan-c`;

async function orphanFixtures(): Promise<void> {
  for (const n of [ORPHAN, FOREIGN, LOOKALIKE, KEPT]) {
    exportNs(n, 16 * MiB);
    const r = connect(n);
    check(`fixture: ${n} connected`, r.code === 0 && (await waitFor(10000, () => !!deviceOf(n))), r.out);
  }
  // the namespace goes away on the target (volume deleted on RDS) while the hosts stay connected
  for (const n of [ORPHAN, FOREIGN, LOOKALIKE]) nvmetNsEnable(n, false);
  const gone = await waitFor(15000, () => [ORPHAN, FOREIGN, LOOKALIKE].every((n) => !deviceOf(n) && controllers(n).length === 1));
  check(
    'fixture: three connections without a namespace (device gone, controller live)',
    gone,
    [ORPHAN, FOREIGN, LOOKALIKE].map((n) => `${controllers(n).join()}:${deviceOf(n) ?? '-'}`).join(' '),
  );
}

async function orphanChecks(): Promise<void> {
  const done = await waitFor(15000, () => controllers(ORPHAN).length === 0);
  check('orphan cleanup at start: managed NQN without namespace disconnected', done, controllers(ORPHAN).join());
  check('non-managed subsystem (no namespace) stays connected', controllers(FOREIGN).length === 1);
  check('look-alike prefix (no namespace) stays connected', controllers(LOOKALIKE).length === 1);
  check('managed connection with a device (unstaged block volume?) stays connected', controllers(KEPT).length === 1 && !!deviceOf(KEPT));
  const logText = readFileSync(path.join(RESULTS, 'node-plugin.log'), 'utf8');
  check('plugin logged the orphan cleanup', /orphan cleanup/.test(logText) && logText.includes(ORPHAN));
  for (const n of [FOREIGN, LOOKALIKE, KEPT]) sh('nvme', ['disconnect', '-n', n]);
  check('fixtures disconnected', await waitFor(10000, () => [FOREIGN, LOOKALIKE, KEPT].every((n) => controllers(n).length === 0)));
}

// ---- 2. xfs ----------------------------------------------------------------------------------------------------------------
async function xfsLifecycle(): Promise<void> {
  const vol = volume('pvc-vm-xfs-0001', 'xfs');
  exportNs(vol.nqn, 320 * MiB); // mkfs.xfs wants 300 MiB
  await plugin.rpc('NodeStageVolume', vol.stageReq, 'xfs: NodeStageVolume (formats xfs)');
  const dev = deviceOf(vol.nqn);
  check(
    'xfs: staging path is an xfs mount of the device',
    mountAt(vol.staging)?.fsType === 'xfs' && mountAt(vol.staging)?.source === dev,
    `${mountAt(vol.staging)?.source} ${mountAt(vol.staging)?.fsType}`,
  );
  check(
    'xfs: mounted with nouuid',
    (mountAt(vol.staging)?.options ?? '').length > 0 && /nouuid/.test(sh('findmnt', ['-no', 'OPTIONS', vol.staging]).out),
    sh('findmnt', ['-no', 'OPTIONS', vol.staging]).out,
  );
  await plugin.rpc('NodePublishVolume', vol.pubReq, 'xfs: NodePublishVolume');
  await plugin.rpc('NodePublishVolume', vol.pubReq, 'xfs: NodePublishVolume again (idempotent)');
  check('xfs: one mount at the target', mountCount(vol.target) === 1 && mountAt(vol.target)?.fsType === 'xfs');
  const data = randomData(4 * MiB);
  check('xfs: 4 MiB written through the target path', writeSynced(path.join(vol.target, 'data.bin'), data) === undefined);
  const st = await stats(vol.volumeId, vol.target);
  check(
    'xfs: stats bytes used, condition normal',
    Number(st.res?.usage[0]?.used) > 0 && st.res?.volumeCondition?.abnormal === false,
    st.details ?? st.res?.usage[0]?.used,
  );
  await plugin.rpc('NodeUnpublishVolume', { volumeId: vol.volumeId, targetPath: vol.target }, 'xfs: NodeUnpublishVolume');
  await plugin.rpc('NodeUnstageVolume', { volumeId: vol.volumeId, stagingTargetPath: vol.staging }, 'xfs: NodeUnstageVolume');
  check('xfs: disconnected', controllers(vol.nqn).length === 0);
  await plugin.rpc('NodeStageVolume', vol.stageReq, 'xfs: NodeStageVolume again');
  dropCaches();
  check('xfs: not reformatted, data intact', sha256File(path.join(vol.staging, 'data.bin')) === sha256(data));
  await plugin.rpc('NodeUnstageVolume', { volumeId: vol.volumeId, stagingTargetPath: vol.staging }, 'xfs: NodeUnstageVolume (final)');
}

// ---- 3. block --------------------------------------------------------------------------------------------------------------
async function blockLifecycle(): Promise<void> {
  const vol = volume('pvc-vm-block-0001', 'block');
  exportNs(vol.nqn, 64 * MiB);
  await plugin.rpc('NodeStageVolume', vol.stageReq, 'block: NodeStageVolume');
  const dev = deviceOf(vol.nqn);
  check(
    'block: stage connected the NQN, nothing mounted at the staging path',
    !!dev && controllers(vol.nqn).length === 1 && mountCount(vol.staging) === 0,
    dev,
  );
  check('block: stage did not format (blkid finds nothing)', !!dev && sh('blkid', ['-p', dev]).code === 2);
  await plugin.rpc('NodePublishVolume', vol.pubReq, 'block: NodePublishVolume');
  check(
    'block: the target is a device node (mknod) with the device numbers',
    !!dev && nodeNumbers(vol.target) === devNumbers(dev),
    `${nodeNumbers(vol.target)} vs ${dev && devNumbers(dev)}`,
  );
  check('block: the target is not a mount', mountCount(vol.target) === 0);
  await plugin.rpc('NodePublishVolume', vol.pubReq, 'block: NodePublishVolume again (idempotent)');
  check('block: still the same node', !!dev && nodeNumbers(vol.target) === devNumbers(dev));
  const data = randomData(8 * MiB);
  check('block: 8 MiB written through the target node', writeSynced(vol.target, data, 0) === undefined);
  dropCaches();
  check('block: checksum read back through the device', !!dev && sha256File(dev, 8 * MiB) === sha256(data));
  const st = await stats(vol.volumeId, vol.target);
  check(
    'block: stats report the device size, condition normal',
    st.res?.usage[0]?.total === String(64 * MiB) && st.res?.volumeCondition?.abnormal === false,
    st.details ?? st.res?.usage[0]?.total,
  );
  await plugin.rpc('NodeUnpublishVolume', { volumeId: vol.volumeId, targetPath: vol.target }, 'block: NodeUnpublishVolume');
  check('block: device node removed', nodeNumbers(vol.target) === undefined);
  await plugin.rpc('NodeUnstageVolume', { volumeId: vol.volumeId, stagingTargetPath: vol.staging }, 'block: NodeUnstageVolume');
  check('block: disconnected', controllers(vol.nqn).length === 0);
  await plugin.rpc('NodeStageVolume', vol.stageReq, 'block: NodeStageVolume again');
  await plugin.rpc('NodePublishVolume', vol.pubReq, 'block: NodePublishVolume again');
  dropCaches();
  check('block: data intact through the new node', sha256File(vol.target, 8 * MiB) === sha256(data));
  await plugin.rpc('NodeUnpublishVolume', { volumeId: vol.volumeId, targetPath: vol.target }, 'block: NodeUnpublishVolume (final)');
  await plugin.rpc('NodeUnstageVolume', { volumeId: vol.volumeId, stagingTargetPath: vol.staging }, 'block: NodeUnstageVolume (final)');
}

// ---- 4. renumbering ----------------------------------------------------------------------------------------------------------
async function renumbering(): Promise<void> {
  const vol = volume('pvc-vm-renum-0001', 'ext4');
  const FILLER = `${PREFIX}:pvc-vm-renum-filler`;
  exportNs(vol.nqn, 64 * MiB);
  exportNs(FILLER, 16 * MiB);
  await plugin.rpc('NodeStageVolume', vol.stageReq, 'renumber: NodeStageVolume');
  await plugin.rpc('NodePublishVolume', vol.pubReq, 'renumber: NodePublishVolume');
  const dev1 = deviceOf(vol.nqn);
  const ctrl1 = controllers(vol.nqn)[0];
  const num1 = dev1 && devNumbers(dev1);
  const data = randomData(4 * MiB);
  check('renumber: 4 MiB written through the target path', writeSynced(path.join(vol.target, 'data.bin'), data) === undefined);

  // the connection drops behind the plugin's back and another subsystem takes the controller number
  const d = sh('nvme', ['disconnect', '-n', vol.nqn]);
  check('renumber: volume disconnected behind the plugin', d.code === 0 && (await waitFor(10000, () => controllers(vol.nqn).length === 0)), d.out);
  const f = connect(FILLER);
  check('renumber: filler subsystem connected', f.code === 0 && (await waitFor(10000, () => !!deviceOf(FILLER))), f.out);
  log(`renumber: filler took ${controllers(FILLER).join()} / ${deviceOf(FILLER)}`);
  const mid = await stats(vol.volumeId, vol.target);
  check(
    'renumber: VolumeCondition abnormal while the volume has no device',
    mid.res?.volumeCondition?.abnormal === true,
    mid.res?.volumeCondition?.message ?? mid.details,
  );
  const c = connect(vol.nqn);
  check('renumber: volume reconnected', c.code === 0 && (await waitFor(10000, () => !!deviceOf(vol.nqn))), c.out);
  const dev2 = deviceOf(vol.nqn);
  const ctrl2 = controllers(vol.nqn)[0];
  log(`renumber: ${ctrl1} ${dev1} (${num1}) -> ${ctrl2} ${dev2} (${dev2 && devNumbers(dev2)})`);
  check('renumber: the device name changed', !!dev2 && dev2 !== dev1 && ctrl2 !== ctrl1, `${dev1} -> ${dev2}`);
  check(
    'renumber: staging mount is stale (not the new device)',
    mountAt(vol.staging)?.dev !== (dev2 && devNumbers(dev2)),
    `${mountAt(vol.staging)?.dev}`,
  );
  const stale = await stats(vol.volumeId, vol.target);
  check(
    'renumber: VolumeCondition abnormal on the stale mount',
    stale.res?.volumeCondition?.abnormal === true,
    stale.res?.volumeCondition?.message ?? stale.details,
  );

  await plugin.rpc('NodePublishVolume', vol.pubReq, 'renumber: NodePublishVolume again (finds the new device)');
  const num2 = dev2 && devNumbers(dev2);
  check(
    'renumber: staging path recovered: one mount of the new device',
    mountCount(vol.staging) === 1 && mountAt(vol.staging)?.dev === num2,
    `${mountCount(vol.staging)} x ${mountAt(vol.staging)?.dev}`,
  );
  check(
    'renumber: target path recovered: one mount of the new device',
    mountCount(vol.target) === 1 && mountAt(vol.target)?.dev === num2,
    `${mountCount(vol.target)} x ${mountAt(vol.target)?.dev}`,
  );
  dropCaches();
  check('renumber: data intact (not reformatted)', sha256File(path.join(vol.target, 'data.bin')) === sha256(data));
  const after = await stats(vol.volumeId, vol.target);
  check(
    'renumber: VolumeCondition normal after recovery',
    after.res?.volumeCondition?.abnormal === false,
    after.res?.volumeCondition?.message ?? after.details,
  );
  await plugin.rpc('NodeUnpublishVolume', { volumeId: vol.volumeId, targetPath: vol.target }, 'renumber: NodeUnpublishVolume');
  await plugin.rpc('NodeUnstageVolume', { volumeId: vol.volumeId, stagingTargetPath: vol.staging }, 'renumber: NodeUnstageVolume');
  sh('nvme', ['disconnect', '-n', FILLER]);
  check('renumber: nothing left connected', controllers(vol.nqn).length === 0);
}

// ---- 5. unreadable at stage time ----------------------------------------------------------------------------------------------
function formattedLines(nqnDev: string | undefined): number {
  const text = readFileSync(path.join(RESULTS, 'node-plugin.log'), 'utf8');
  return text.split('\n').filter((l) => /formatting/.test(l) && (!nqnDev || l.includes(nqnDev))).length;
}

async function unreadable(): Promise<void> {
  const vol = volume('pvc-vm-unread-0001', 'ext4');
  exportNs(vol.nqn, 64 * MiB);
  await plugin.rpc('NodeStageVolume', vol.stageReq, 'unreadable: first NodeStageVolume (formats)');
  const data = randomData(1 * MiB);
  check('unreadable: 1 MiB written', writeSynced(path.join(vol.staging, 'keep.bin'), data) === undefined);
  const uuid = sh('blkid', ['-p', '-s', 'UUID', '-o', 'value', deviceOf(vol.nqn) ?? '/nonexistent']).out;
  await plugin.rpc('NodeUnstageVolume', { volumeId: vol.volumeId, stagingTargetPath: vol.staging }, 'unreadable: NodeUnstageVolume');
  const formatsBefore = formattedLines(undefined);

  // (a) connected, but the namespace is disabled on the target: no device at stage time
  const c = connect(vol.nqn);
  check('unreadable (a): connected by hand', c.code === 0 && (await waitFor(10000, () => !!deviceOf(vol.nqn))), c.out);
  nvmetNsEnable(vol.nqn, false);
  check('unreadable (a): namespace disabled, device gone', await waitFor(15000, () => !deviceOf(vol.nqn)));
  const t = Date.now();
  await plugin.rpc('NodeStageVolume', vol.stageReq, 'unreadable (a): NodeStageVolume without a device', 14, 6000); // UNAVAILABLE
  log(`unreadable (a): answered in ${Date.now() - t} ms`);
  nvmetNsEnable(vol.nqn, true);
  sh('nvme', ['ns-rescan', `/dev/${controllers(vol.nqn)[0] ?? 'nvme-missing'}`]);
  check('unreadable (a): namespace back', await waitFor(15000, () => !!deviceOf(vol.nqn)));
  sh('nvme', ['disconnect', '-n', vol.nqn]);
  await waitFor(10000, () => controllers(vol.nqn).length === 0);

  // (b) connected with fast_io_fail_tmo 0, then the path goes down: the device is there but every read fails (EIO)
  // what the plugin does when volume_context asks for fastIoFailTmo (bookworm's nvme-cli 2.3 has no such option)
  const fctx = { ...vol.stageReq, volumeContext: { ...(vol.stageReq.volumeContext as Record<string, string>), fastIoFailTmo: '0' } };
  const fr = await plugin.call('Node', 'NodeStageVolume', fctx, 30000);
  check(
    'unreadable (b): NodeStageVolume with volume_context fastIoFailTmo=0 connects (nvme-cli 2.3)',
    fr.code === undefined,
    fr.code === undefined ? 'ok' : `code ${fr.code}: ${fr.details}`,
  );
  if (fr.code === undefined)
    await plugin.rpc('NodeUnstageVolume', { volumeId: vol.volumeId, stagingTargetPath: vol.staging }, 'unreadable (b): NodeUnstageVolume');
  // connected by hand through /dev/nvme-fabrics with fast_io_fail_tmo=0
  const c2 = fabricsConnect(vol.nqn, HOSTNQN, { fast_io_fail_tmo: 0 });
  check('unreadable (b): connected by hand with fast_io_fail_tmo=0', c2.ok && (await waitFor(10000, () => !!deviceOf(vol.nqn))), c2.out);
  const dev = deviceOf(vol.nqn) ?? '/nonexistent';
  const ctrl = controllers(vol.nqn)[0] ?? '';
  nvmetUnlink(vol.nqn);
  await waitFor(10000, () => ctrlState(ctrl) !== 'live');
  await new Promise((r) => setTimeout(r, 1500));
  const rd = sh('dd', [`if=${dev}`, 'of=/dev/null', 'bs=4096', 'count=1', 'iflag=direct'], 10000);
  check(
    `unreadable (b): the device is there (${dev}) but a read fails`,
    !!deviceOf(vol.nqn) && rd.code !== 0,
    `${ctrlState(ctrl)}: ${rd.out.split('\n')[0]}`,
  );
  const r = await plugin.call('Node', 'NodeStageVolume', vol.stageReq, 30000);
  check(
    'unreadable (b): NodeStageVolume on an unreadable device fails',
    r.code !== undefined,
    r.code === undefined ? 'succeeded' : `code ${r.code}: ${r.details}`,
  );
  check('unreadable (b): nothing mounted at the staging path', mountCount(vol.staging) === 0);
  nvmetLink(vol.nqn);
  check('unreadable (b): path back, controller live', await waitFor(30000, () => ctrlState(ctrl) === 'live'), `${elapsed()} s`);

  check('unreadable: the plugin never formatted the device', formattedLines(undefined) === formatsBefore);
  await plugin.rpc('NodeStageVolume', vol.stageReq, 'unreadable: NodeStageVolume after the device is back');
  check(
    'unreadable: the same file system (UUID) is mounted',
    sh('blkid', ['-p', '-s', 'UUID', '-o', 'value', deviceOf(vol.nqn) ?? '/nonexistent']).out === uuid && uuid !== '',
    uuid,
  );
  dropCaches();
  check('unreadable: data intact', sha256File(path.join(vol.staging, 'keep.bin')) === sha256(data));
  await plugin.rpc('NodeUnstageVolume', { volumeId: vol.volumeId, stagingTargetPath: vol.staging }, 'unreadable: NodeUnstageVolume (final)');
}

async function main(): Promise<void> {
  await orphanFixtures();
  plugin.spawn();
  check('rds-csi node ready', await plugin.ready(), `${plugin.lastStartSeconds.toFixed(1)} s`);
  const only = (process.env.PARTS ?? 'orphans,xfs,block,renumber,unreadable').split(',');
  const parts: Array<[string, () => Promise<void>]> = [
    ['orphans', orphanChecks],
    ['xfs', xfsLifecycle],
    ['block', blockLifecycle],
    ['renumber', renumbering],
    ['unreadable', unreadable],
  ];
  for (const [name, fn] of parts) {
    if (!only.includes(name)) continue;
    const t = Date.now();
    log(`==== ${name}`);
    try {
      await fn();
    } catch (err) {
      check(`${name}: ran to the end`, false, (err as Error).stack ?? String(err));
    }
    log(`==== ${name}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }
}

runMain('lifecycle', main, async () => {
  plugin.closeClient();
  await plugin.kill('SIGTERM');
  for (const n of exported) {
    if (controllers(n).length) sh('nvme', ['disconnect', '-n', n]);
    try {
      nvmetUnexport(n);
    } catch (err) {
      log(`unexport ${n}: ${(err as Error).message}`);
    }
  }
});
