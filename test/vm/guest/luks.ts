/**
 * VM scenario driver (test/vm/scenarios/luks.sh): encryption at rest with node-side LUKS2 (issue 15 item 2), the real
 * node plugin against the kernel target. An ext4 volume with volume_context `encryption: luks2` and the passphrase in
 * the node-stage secrets: stage formats LUKS2 on the blank namespace, opens /dev/mapper/rds-csi-<id>, makes ext4 on
 * the mapping; a marker written through the pod path is NOT in the backing file on the target side; stats normal; a
 * 5 s outage (port link removed) with a write in flight keeps the data; expand (backing file grown, revalidate_size,
 * NodeExpandVolume with the node-expand secret) grows the mapping and ext4; unstage closes the mapping; a wrong key and
 * a missing key are refused with INVALID_ARGUMENT and the header is unchanged; the right key opens it again, not
 * reformatted, data intact; a plain ext4 volume staged with encryption is refused (FAILED_PRECONDITION, still ext4); a
 * block volume works through the mapping; the passphrase is in no log line.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, realpathSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  backgroundWrite,
  check,
  controllers,
  ctrlState,
  deviceOf,
  dropCaches,
  elapsed,
  log,
  mountAt,
  MiB,
  nodeNumbers,
  nvmetExport,
  nvmetLink,
  nvmetUnexport,
  nvmetUnlink,
  NVMET,
  Plugin,
  randomData,
  RESULTS,
  runMain,
  sh,
  sha256,
  sha256File,
  sleep,
  type Stats,
  volume,
  waitFor,
  writeSynced,
} from './lib';

const KEY = `vm-luks-passphrase-${randomData(8).toString('hex')}`;
const secrets = { encryptionPassphrase: KEY };
const fsVol = volume('pvc-vm-luks-0001', 'ext4', { encryption: 'luks2' });
const blkVol = volume('pvc-vm-luks-0002', 'block', { encryption: 'luks2' });
const plainVol = volume('pvc-vm-luks-0003', 'ext4');
// A short unlock time: argon2id benchmarked for 2 s would cost about a minute per luksFormat under emulation.
const plugin = new Plugin({ env: { RDS_CSI_NODE_LUKS_ITER_TIME_MS: '200' } });
const INVALID_ARGUMENT = 3;
const FAILED_PRECONDITION = 9;

const mapper = (id: string): string => `/dev/mapper/rds-csi-${id}`;
/** A mount source is the mapping: /dev/mapper/<name> or what it links to (/dev/dm-N). */
const isMapping = (source: string | undefined, map: string): boolean =>
  !!source && existsSync(map) && (source === map || source === realpathSync(map));
const stage = (v: ReturnType<typeof volume>, s: Record<string, string> = secrets): Record<string, unknown> => ({ ...v.stageReq, secrets: s });

/** Does the file (or device) contain the marker anywhere? Read in 4 MiB chunks with an overlap. */
function contains(p: string, marker: Buffer): boolean {
  const fd = openSync(p, 'r');
  try {
    const buf = Buffer.alloc(4 * MiB + marker.length);
    let pos = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) return false;
      if (buf.subarray(0, n).includes(marker)) return true;
      if (n < buf.length) return false;
      pos += n - marker.length;
    }
  } finally {
    closeSync(fd);
  }
}

const blkidType = (dev: string): string => sh('blkid', ['-p', '-o', 'value', '-s', 'TYPE', dev]).out.trim();
const sizeOf = (dev: string): number => Number(sh('blockdev', ['--getsize64', dev]).out.trim() || '0');

function grow(nqn: string, file: string, bytes: number): void {
  sh('truncate', ['-s', String(bytes), file]);
  const attr = `${NVMET}/subsystems/${nqn}/namespaces/1/revalidate_size`;
  if (existsSync(attr)) writeFileSync(attr, '1');
}

async function filesystemVolume(): Promise<void> {
  const file = nvmetExport(fsVol.nqn, 256 * MiB);
  const map = mapper(fsVol.volumeId);

  await plugin.rpc('NodeStageVolume', stage(fsVol, {}), 'NodeStageVolume without the passphrase secret', INVALID_ARGUMENT);
  check('nothing written to the blank volume without a key', blkidType(file) === '', blkidType(file));
  const t = Date.now();
  await plugin.rpc('NodeStageVolume', stage(fsVol), 'NodeStageVolume (ext4, luks2, blank volume)');
  log(`FIGURE stage of a blank encrypted ext4 volume (luksFormat + open + mkfs): ${elapsed(t)} s`);
  const dev = deviceOf(fsVol.nqn) ?? '';
  check('the namespace holds a LUKS header', blkidType(dev) === 'crypto_LUKS', blkidType(dev));
  check(`${map} exists`, existsSync(map));
  check(
    'the staging path is the ext4 on the mapping',
    mountAt(fsVol.staging)?.fsType === 'ext4' && isMapping(mountAt(fsVol.staging)?.source, map),
    JSON.stringify(mountAt(fsVol.staging)),
  );
  const t2 = Date.now();
  await plugin.rpc('NodeStageVolume', stage(fsVol), 'NodeStageVolume again (idempotent)');
  log(`FIGURE re-stage (mapping already open): ${elapsed(t2)} s`);
  await plugin.rpc('NodePublishVolume', { ...fsVol.pubReq, secrets });
  check('the publish target shows the mapping', isMapping(mountAt(fsVol.target)?.source, map), mountAt(fsVol.target)?.source);

  const marker = Buffer.from(`RDS-CSI-LUKS-MARKER-${randomData(6).toString('hex')}`);
  const data = Buffer.concat(Array.from({ length: (4 * MiB) / 64 }, () => Buffer.concat([marker, Buffer.alloc(64 - marker.length, 0x2e)])));
  const dataFile = path.join(fsVol.target, 'marker.bin');
  check('4 MiB of markers written through the pod path', writeSynced(dataFile, data) === undefined);
  const sums = new Map<string, string>([['marker.bin', sha256(data)]]);
  dropCaches();
  check('the marker reads back through the pod path', contains(dataFile, marker));
  check('the marker is NOT readable in the backing file on the target side', !contains(file, marker));

  const st = await plugin.call<Stats>('Node', 'NodeGetVolumeStats', { volumeId: fsVol.volumeId, volumePath: fsVol.target });
  check(
    'NodeGetVolumeStats: condition normal on the mapping',
    st.res?.volumeCondition?.abnormal === false,
    st.res?.volumeCondition?.message ?? st.details,
  );

  // outage under the open mapping
  const ctrl = controllers(fsVol.nqn)[0] ?? '';
  const src = '/tmp/luks-outage.src';
  const during = randomData(4 * MiB);
  writeFileSync(src, during);
  const tOut = Date.now();
  nvmetUnlink(fsVol.nqn);
  check('outage: controller left live', await waitFor(10000, () => ctrlState(ctrl) !== 'live', 50), ctrlState(ctrl));
  const writer = backgroundWrite(src, path.join(fsVol.target, 'outage.bin'));
  await sleep(5000);
  check('outage: the write through the mapping is blocked, not failed', writer.running());
  check('outage: the mapping stays mounted', isMapping(mountAt(fsVol.staging)?.source, map));
  nvmetLink(fsVol.nqn);
  check('outage: controller live again', await waitFor(60000, () => ctrlState(ctrl) === 'live', 50), ctrlState(ctrl));
  const code = await Promise.race([writer.done, sleep(60000).then(() => 'timeout' as const)]);
  check(`outage: the write completed after restore (${elapsed(tOut)} s after the cut)`, code === 0, String(code));
  sums.set('outage.bin', sha256(during));
  dropCaches();
  for (const [f, s] of sums) check(`outage: ${f} intact after the outage`, sha256File(path.join(fsVol.target, f)) === s);
  log(`FIGURE outage of 5 s under the open mapping: write completed, ${sums.size} files intact`);

  // expand
  const mapBefore = sizeOf(map);
  const fsBefore = Number(statfsSync(fsVol.target).blocks) * Number(statfsSync(fsVol.target).bsize);
  grow(fsVol.nqn, file, 512 * MiB);
  const exp = await plugin.rpc<{ capacityBytes: string }>('NodeExpandVolume', {
    volumeId: fsVol.volumeId,
    volumePath: fsVol.target,
    stagingTargetPath: fsVol.staging,
    capacityRange: { requiredBytes: String(512 * MiB) },
    secrets,
  });
  const mapAfter = sizeOf(map);
  const fsAfter = Number(statfsSync(fsVol.target).blocks) * Number(statfsSync(fsVol.target).bsize);
  log(
    `FIGURE expand 256 -> 512 MiB: mapping ${mapBefore} -> ${mapAfter} bytes, ext4 ${fsBefore} -> ${fsAfter} bytes, capacity_bytes ${exp?.capacityBytes}`,
  );
  check('expand: the mapping grew by 256 MiB', mapAfter - mapBefore === 256 * MiB, `${mapBefore} -> ${mapAfter}`);
  check('expand: ext4 grew', fsAfter > fsBefore + 200 * MiB, `${fsBefore} -> ${fsAfter}`);
  for (const [f, s] of sums) check(`expand: ${f} intact`, sha256File(path.join(fsVol.target, f)) === s);

  await plugin.rpc('NodeUnpublishVolume', { volumeId: fsVol.volumeId, targetPath: fsVol.target });
  await plugin.rpc('NodeUnstageVolume', { volumeId: fsVol.volumeId, stagingTargetPath: fsVol.staging });
  check('unstage closed the mapping', !existsSync(map));
  check('unstage disconnected the controller', controllers(fsVol.nqn).length === 0, controllers(fsVol.nqn).join(','));

  const header = sha256File(file, 16 * MiB);
  await plugin.rpc('NodeStageVolume', stage(fsVol, { encryptionPassphrase: `${KEY}-wrong` }), 'NodeStageVolume with a wrong key', INVALID_ARGUMENT);
  check('wrong key: no mapping', !existsSync(map));
  check('wrong key: header and first 16 MiB unchanged', sha256File(file, 16 * MiB) === header);
  check('wrong key: nothing mounted at the staging path', !mountAt(fsVol.staging));
  const t3 = Date.now();
  await plugin.rpc('NodeStageVolume', stage(fsVol), 'NodeStageVolume with the right key (existing header)');
  log(`FIGURE stage of an existing encrypted volume (open): ${elapsed(t3)} s`);
  check('right key: header unchanged (not reformatted)', sha256File(file, 16 * MiB) === header);
  for (const [f, s] of sums) check(`restaged: ${f} intact`, sha256File(path.join(fsVol.staging, f)) === s);
  await plugin.rpc('NodeUnstageVolume', { volumeId: fsVol.volumeId, stagingTargetPath: fsVol.staging }, 'NodeUnstageVolume (final)');
  check('final unstage closed the mapping', !existsSync(map));
}

async function plainVolumeRefused(): Promise<void> {
  const file = nvmetExport(plainVol.nqn, 64 * MiB);
  await plugin.rpc('NodeStageVolume', plainVol.stageReq, 'NodeStageVolume (plain ext4, no encryption)');
  await plugin.rpc('NodeUnstageVolume', { volumeId: plainVol.volumeId, stagingTargetPath: plainVol.staging });
  const before = sha256File(file, 4 * MiB);
  const enc = { ...plainVol.stageReq, volumeContext: { ...(plainVol.stageReq.volumeContext as object), encryption: 'luks2' }, secrets };
  await plugin.rpc('NodeStageVolume', enc, 'NodeStageVolume with encryption over a plain ext4 volume', FAILED_PRECONDITION);
  check('plain volume: still ext4, first 4 MiB unchanged', blkidType(file) === 'ext4' && sha256File(file, 4 * MiB) === before, blkidType(file));
  check('plain volume: no mapping', !existsSync(mapper(plainVol.volumeId)));
  await plugin.rpc(
    'NodeUnstageVolume',
    { volumeId: plainVol.volumeId, stagingTargetPath: plainVol.staging },
    'NodeUnstageVolume (plain, disconnect)',
  );
}

async function blockVolume(): Promise<void> {
  const file = nvmetExport(blkVol.nqn, 128 * MiB);
  const map = mapper(blkVol.volumeId);
  const t = Date.now();
  await plugin.rpc('NodeStageVolume', stage(blkVol), 'NodeStageVolume (block, luks2)');
  log(`FIGURE stage of a blank encrypted block volume: ${elapsed(t)} s`);
  await plugin.rpc('NodePublishVolume', { ...blkVol.pubReq, secrets });
  check(
    "block: the target node has the mapping's numbers",
    nodeNumbers(blkVol.target) === nodeNumbers(realpathSync(map)),
    `${nodeNumbers(blkVol.target)} vs ${nodeNumbers(realpathSync(map))}`,
  );
  const marker = Buffer.from(`RDS-CSI-LUKS-BLOCK-${randomData(6).toString('hex')}`);
  const data = Buffer.concat([marker, randomData(8 * MiB - marker.length)]);
  check('block: 8 MiB written through the device node', writeSynced(blkVol.target, data, 0) === undefined);
  dropCaches();
  check('block: read back through the node', sha256File(blkVol.target, data.length) === sha256(data));
  check('block: the marker is NOT in the backing file', !contains(file, marker));
  await plugin.rpc('NodeUnpublishVolume', { volumeId: blkVol.volumeId, targetPath: blkVol.target });
  await plugin.rpc('NodeUnstageVolume', { volumeId: blkVol.volumeId, stagingTargetPath: blkVol.staging });
  check('block: unstage closed the mapping', !existsSync(map));
  await plugin.rpc('NodeStageVolume', stage(blkVol), 'NodeStageVolume (block) again');
  await plugin.rpc('NodePublishVolume', { ...blkVol.pubReq, secrets }, 'NodePublishVolume (block) again');
  dropCaches();
  check('block: data intact after unstage + stage', sha256File(blkVol.target, data.length) === sha256(data));
  await plugin.rpc('NodeUnpublishVolume', { volumeId: blkVol.volumeId, targetPath: blkVol.target }, 'NodeUnpublishVolume (block, final)');
  await plugin.rpc('NodeUnstageVolume', { volumeId: blkVol.volumeId, stagingTargetPath: blkVol.staging }, 'NodeUnstageVolume (block, final)');
}

async function main(): Promise<void> {
  sh('modprobe', ['dm_crypt']);
  check('cryptsetup is installed', sh('cryptsetup', ['--version']).code === 0);
  plugin.spawn();
  check('rds-csi node ready', await plugin.ready(), `${plugin.lastStartSeconds.toFixed(1)} s`);
  await filesystemVolume();
  await plainVolumeRefused();
  await blockVolume();
  const logText = readFileSync(path.join(RESULTS, 'node-plugin.log'), 'utf8');
  check('the passphrase appears in no log line of the plugin', !logText.includes(KEY) && !logText.includes(`${KEY}-wrong`));
}

runMain('luks', main, async () => {
  plugin.closeClient();
  await plugin.kill('SIGTERM');
  for (const v of [fsVol, blkVol, plainVol]) {
    try {
      nvmetUnexport(v.nqn);
    } catch (err) {
      log(`unexport: ${(err as Error).message}`);
    }
  }
});
