/**
 * VM scenario driver (test/vm/scenarios/simulator-nvmet.sh): `rds-csi simulator --nvmet` as the storage, the
 * driver's own RouterOS client (src/rds, what the controller's workers call) for the CreateVolume-equivalent calls,
 * and the real node plugin for the node side. Proves the simulator's nvmet backend on the kernel target:
 *  - /disk add + set nvme-tcp-export=yes → a kernel subsystem (namespace = the backing file) on 127.0.0.1:4420;
 *  - stage (ext4, formatted), publish, data checksums through the exported subsystem;
 *  - expansion: /disk set file-size grows the file → NodeExpandVolume rescans, the device and file system grow;
 *  - live migration: a block volume with two allowed host NQNs; the plugin's host and a second host are connected
 *    at once, a third host is refused; the block device node at the target reads back the data written;
 *  - /disk remove → subsystem gone; simulator stop → nothing of it left in configfs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import type { RdsPort } from '../../../src/rds/port';
import {
  check,
  controllers,
  ctrlState,
  devSizeBytes,
  deviceOf,
  dropCaches,
  fabricsConnect,
  hostNqnOf,
  log,
  MAIN,
  MiB,
  mountAt,
  NVMET,
  nodeNumbers,
  devNumbers,
  Plugin,
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

const H1 = 'nqn.2014-08.org.nvmexpress:uuid:5e1f0000-0000-4000-8000-0000000000a1';
const H2 = 'nqn.2014-08.org.nvmexpress:uuid:5e1f0000-0000-4000-8000-0000000000a2';
const H3 = 'nqn.2014-08.org.nvmexpress:uuid:5e1f0000-0000-4000-8000-0000000000a3';
const DATA_DIR = '/var/lib/rds-csi-vm/sim';
const plugin = new Plugin({ hostNqn: H1 });
let sim: ChildProcess | undefined;
let rds: RdsPort | undefined;

function startSimulator(): Promise<number | undefined> {
  const fd = openSync(path.join(RESULTS, 'simulator.log'), 'a');
  const child = spawn(
    process.execPath,
    [MAIN, 'simulator', '--data-dir', DATA_DIR, '--port', '8728', '--pool-size', '8G', '--nvmet', '--nvmet-address', '127.0.0.1'],
    {
      stdio: ['ignore', 'pipe', fd],
    },
  );
  closeSync(fd);
  sim = child;
  return new Promise((resolve) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /"port":(\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', () => resolve(undefined));
  });
}

const subsystems = (): string[] => readdirSync(`${NVMET}/subsystems`);
const listening = (): boolean => /127\.0\.0\.1:4420\b/.test(sh('ss', ['-Hltn']).out);

async function fsVolume(r: RdsPort): Promise<void> {
  const vol = volume('pvc-vm-sim-0001', 'ext4');
  const disk = await r.addDisk({ slot: vol.volumeId, filePath: `/pool/${vol.volumeId}.img`, fileSizeBytes: 256 * MiB });
  check('/disk add: 256 MiB file disk', disk.fileSizeBytes === 256 * MiB && !disk.nvmeTcpExport, `${disk.id} ${disk.filePath}`);
  check('not exported yet: no subsystem', !subsystems().includes(vol.nqn));
  await r.setExport(disk.id, { port: 4420, nqn: vol.nqn });
  const sub = `${NVMET}/subsystems/${vol.nqn}`;
  check('nvme-tcp-export=yes: kernel subsystem with the NQN', existsSync(sub));
  check(
    'namespace 1 is the backing file, enabled',
    readFileSync(`${sub}/namespaces/1/device_path`, 'utf8').trim() === path.join(DATA_DIR, 'pool', `${vol.volumeId}.img`) &&
      readFileSync(`${sub}/namespaces/1/enable`, 'utf8').trim() === '1',
  );
  check('any host allowed (allow-host-name empty)', readFileSync(`${sub}/attr_allow_any_host`, 'utf8').trim() === '1');
  check('kernel target listening on 127.0.0.1:4420', await waitFor(5000, listening));

  await plugin.rpc('NodeStageVolume', vol.stageReq, 'NodeStageVolume (ext4) through the exported subsystem');
  const dev = deviceOf(vol.nqn);
  check('device by NQN, 256 MiB', !!dev && devSizeBytes(dev) === 256 * MiB, `${dev} ${dev ? devSizeBytes(dev) : 0}`);
  check('controller uses the plugin host NQN', controllers(vol.nqn).map(hostNqnOf).join() === H1);
  await plugin.rpc('NodePublishVolume', vol.pubReq);
  const data = randomData(8 * MiB);
  check('8 MiB written through the target path', writeSynced(path.join(vol.target, 'data.bin'), data) === undefined);
  dropCaches();
  check('checksum through the staging path', sha256File(path.join(vol.staging, 'data.bin')) === sha256(data));
  const before = await plugin.call<Stats>('Node', 'NodeGetVolumeStats', { volumeId: vol.volumeId, volumePath: vol.target });
  const totalBefore = Number(before.res?.usage[0]?.total ?? 0);

  // online expansion: RDS grows the file, the node rescans and grows the file system
  await r.resizeDisk(disk.id, 512 * MiB);
  const st = sh('stat', ['-c', '%s', path.join(DATA_DIR, 'pool', `${vol.volumeId}.img`)]).out;
  check('/disk set file-size=512M grew the backing file', st === String(512 * MiB), st);
  const t = Date.now();
  const exp = await plugin.rpc<{ capacityBytes: string }>('NodeExpandVolume', {
    volumeId: vol.volumeId,
    volumePath: vol.target,
    stagingTargetPath: vol.staging,
    capacityRange: { requiredBytes: String(512 * MiB) },
    volumeCapability: vol.stageReq.volumeCapability,
  });
  const after = await plugin.call<Stats>('Node', 'NodeGetVolumeStats', { volumeId: vol.volumeId, volumePath: vol.target });
  const totalAfter = Number(after.res?.usage[0]?.total ?? 0);
  log(
    `expansion: device ${dev ? devSizeBytes(dev) : 0} bytes, capacity_bytes ${exp?.capacityBytes}, file system ${totalBefore} -> ${totalAfter} bytes in ${Date.now() - t} ms`,
  );
  check('device is 512 MiB after NodeExpandVolume', !!dev && devSizeBytes(dev) === 512 * MiB, String(dev ? devSizeBytes(dev) : 0));
  check('NodeExpandVolume reports the measured size', Number(exp?.capacityBytes) === 512 * MiB, exp?.capacityBytes);
  check('file system grew (statfs total)', totalAfter > totalBefore * 1.8, `${totalBefore} -> ${totalAfter}`);
  check('data intact after the expansion', sha256File(path.join(vol.target, 'data.bin')) === sha256(data));

  await plugin.rpc('NodeUnpublishVolume', { volumeId: vol.volumeId, targetPath: vol.target });
  await plugin.rpc('NodeUnstageVolume', { volumeId: vol.volumeId, stagingTargetPath: vol.staging });
  check('disconnected after unstage', controllers(vol.nqn).length === 0);
  await r.removeDisk(disk.id);
  check('/disk remove: subsystem removed from configfs', !subsystems().includes(vol.nqn), subsystems().join(','));
}

async function blockMigration(r: RdsPort): Promise<void> {
  const vol = volume('pvc-vm-sim-0002', 'block');
  const disk = await r.addDisk({ slot: vol.volumeId, filePath: `/pool/${vol.volumeId}.img`, fileSizeBytes: 128 * MiB });
  await r.setExport(disk.id, { port: 4420, nqn: vol.nqn });
  await r.setAllowedHosts(disk.id, `${H1},${H2}`);
  const sub = `${NVMET}/subsystems/${vol.nqn}`;
  const allowed = readdirSync(`${sub}/allowed_hosts`).sort();
  check(
    'allow-host-name H1,H2: two allowed hosts, any host off',
    allowed.join() === [H1, H2].sort().join() && readFileSync(`${sub}/attr_allow_any_host`, 'utf8').trim() === '0',
    allowed.join(' '),
  );

  await plugin.rpc('NodeStageVolume', vol.stageReq, 'NodeStageVolume (block, host H1)');
  await plugin.rpc('NodePublishVolume', vol.pubReq, 'NodePublishVolume (block)');
  const dev = deviceOf(vol.nqn);
  check(
    'block publish: a device node at the target with the NQN device numbers',
    !!dev && nodeNumbers(vol.target) === devNumbers(dev),
    `${nodeNumbers(vol.target)} vs ${dev && devNumbers(dev)}`,
  );
  check('block publish: not a mount', !mountAt(vol.target));
  const data = randomData(4 * MiB);
  check('4 MiB written at offset 1 MiB through the target device node', writeSynced(vol.target, data, MiB) === undefined);

  // the migration target connects with its own host NQN while the source is still connected
  // straight to /dev/nvme-fabrics: nvme-cli 2.3 answers "already connected" for a second host NQN even with -D
  const connect = (h: string): { ok: boolean; out: string } => fabricsConnect(vol.nqn, h, { ctrl_loss_tmo: 5, duplicate_connect: true });
  const c2 = connect(H2);
  check('second allowed host (H2) connects while H1 is connected', c2.ok, c2.out);
  await waitFor(10000, () => controllers(vol.nqn).length === 2 && controllers(vol.nqn).every((c) => ctrlState(c) === 'live'));
  const hosts = controllers(vol.nqn).map(hostNqnOf).sort();
  check('two live controllers on one namespace, hosts H1 and H2', hosts.join() === [H1, H2].sort().join(), hosts.join(' '));
  const c3 = connect(H3);
  check('a third host (H3, not allowed) is refused by the target', !c3.ok && !/already/i.test(c3.out), c3.out.split('\n')[0]);
  check('still exactly two controllers', controllers(vol.nqn).length === 2);
  dropCaches();
  check('data read back through the target device node', sha256(readRange(vol.target, MiB, 4 * MiB)) === sha256(data));
  // the source hands over: H2's controller goes first (by hand), then the plugin's unpublish/unstage
  const ctrl2 = controllers(vol.nqn).find((c) => hostNqnOf(c) === H2);
  if (ctrl2) sh('nvme', ['disconnect', '-d', ctrl2]);
  await plugin.rpc('NodeUnpublishVolume', { volumeId: vol.volumeId, targetPath: vol.target }, 'NodeUnpublishVolume (block)');
  check('block unpublish removed the device node', !existsSync(vol.target));
  await plugin.rpc('NodeUnstageVolume', { volumeId: vol.volumeId, stagingTargetPath: vol.staging }, 'NodeUnstageVolume (block)');
  check('no controller left for the block volume', controllers(vol.nqn).length === 0, controllers(vol.nqn).join());
}

function readRange(p: string, offset: number, len: number): Buffer {
  const fd = openSync(p, 'r');
  try {
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, offset);
    return buf;
  } finally {
    closeSync(fd);
  }
}

async function main(): Promise<void> {
  plugin.spawn();
  const port = await startSimulator();
  check('rds-csi simulator --nvmet listening', port === 8728, String(port));
  const { createRdsPort } = await import('../../../src/rds');
  rds = createRdsPort({
    host: '127.0.0.1',
    port: 8728,
    user: 'admin',
    password: '',
    connectTimeoutMs: 10000,
    callTimeoutMs: 30000,
    poolName: 'pool',
  });
  check(
    'RouterOS API answers (ping)',
    await rds.ping().then(
      () => true,
      () => false,
    ),
  );
  check('rds-csi node ready', await plugin.ready(), `${plugin.lastStartSeconds.toFixed(1)} s`);
  await fsVolume(rds);
  await blockMigration(rds);
}

runMain('simulator-nvmet', main, async () => {
  plugin.closeClient();
  await plugin.kill('SIGTERM');
  await rds?.close();
  if (sim && sim.exitCode === null) {
    const gone = new Promise((r) => sim?.once('exit', r));
    sim.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 15000))]);
  }
  const left = subsystems();
  check('simulator stopped: no subsystem left in configfs', left.length === 0, left.join(','));
  check('no port left in configfs', readdirSync(`${NVMET}/ports`).length === 0, readdirSync(`${NVMET}/ports`).join(','));
});
