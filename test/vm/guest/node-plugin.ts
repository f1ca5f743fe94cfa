/**
 * Runs inside the test VM (compiled to dist/test/vm/guest/node-plugin.js, started by
 * test/vm/scenarios/node-plugin.sh): drives the real `rds-csi node` over its gRPC socket the way kubelet does,
 * against the kernel's nvmet-tcp target that the scenario exported, and checks every step on the real kernel
 * objects (sysfs controllers by NQN, mountinfo, the block device's file system, data checksums).
 *
 * Env: CSI_ENDPOINT (unix:///run/csi.sock), VOLUME_ID, NQN, TARGET_ADDRESS, TARGET_PORT, NODE_ID.
 * Output: "@@ PASS: ..." / "@@ FAIL: ..." lines; exit status = number of failures (0 = passed).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { CsiGrpcClient } from '../../../src/grpc/client';
import { mountAt, mounts } from './lib';

const env = (name: string, dflt?: string): string => {
  const v = process.env[name] ?? dflt;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};

const ENDPOINT = env('CSI_ENDPOINT', 'unix:///run/csi.sock');
const VOLUME_ID = env('VOLUME_ID');
const NQN = env('NQN');
const NODE_ID = env('NODE_ID', 'vm1');
const STAGING = '/var/lib/kubelet/plugins/kubernetes.io/csi/rds.csi.mikrotik.com/vm/globalmount';
const TARGET = '/var/lib/kubelet/pods/0000-vm/volumes/kubernetes.io~csi/pvc-vm/mount';

let fails = 0;
let passes = 0;
const t0 = Date.now();
const log = (msg: string): void => console.log(`@@ [node ${((Date.now() - t0) / 1000).toFixed(2)}] ${msg}`);
function check(what: string, ok: boolean, detail = ''): void {
  if (ok) passes++;
  else fails++;
  console.log(`@@ ${ok ? 'PASS' : 'FAIL'}: ${what}${detail ? ` (${detail})` : ''}`);
}

interface GrpcError {
  code?: number;
  details?: string;
  message?: string;
}

const client = new CsiGrpcClient(ENDPOINT);

/** One RPC: logged with its duration; a failure is recorded and returns undefined. */
async function rpc<T>(service: 'Identity' | 'Node', method: string, req: object, what = method, timeoutMs = 120000): Promise<T | undefined> {
  const t = Date.now();
  try {
    const res = await client.call<T>(service, method, req, timeoutMs);
    check(`${what} ok`, true, `${Date.now() - t} ms`);
    return res;
  } catch (err) {
    const e = err as GrpcError;
    check(`${what} ok`, false, `code ${e.code ?? '?'}: ${e.details ?? e.message ?? String(err)}`);
    return undefined;
  }
}

// ---- host views ----------------------------------------------------------------------------------------------------
const readSys = (p: string): string | undefined => {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** Controllers connected to the NQN (/sys/class/nvme/nvmeX with that subsysnqn). */
function controllers(nqn: string): string[] {
  return readdirSync('/sys/class/nvme').filter((c) => readSys(`/sys/class/nvme/${c}/subsysnqn`) === nqn);
}

/** The visible namespace disk of the NQN (nvmeXnY, never the hidden nvmeXcYnZ path devices). */
function deviceOf(nqn: string): string | undefined {
  const b = readdirSync('/sys/block').find((n) => /^nvme\d+n\d+$/.test(n) && readSys(`/sys/block/${n}/device/subsysnqn`) === nqn);
  return b ? `/dev/${b}` : undefined;
}

function writeSynced(file: string, data: Buffer): void {
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

// ---- the flow ---------------------------------------------------------------------------------------------------------
async function main(): Promise<number> {
  const volumeContext = {
    nqn: NQN,
    targetAddress: env('TARGET_ADDRESS', '127.0.0.1'),
    targetPort: env('TARGET_PORT', '4420'),
    accessType: 'mount',
    reconnectDelay: '1',
  };
  const volumeCapability = { mount: { fsType: 'ext4', mountFlags: [] }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };
  const stageReq = { volumeId: VOLUME_ID, stagingTargetPath: STAGING, volumeCapability, volumeContext };
  const pubReq = { ...stageReq, targetPath: TARGET };

  const info = await rpc<{ name: string }>('Identity', 'GetPluginInfo', {});
  check('plugin name reported', !!info?.name, info?.name);
  await rpc('Identity', 'Probe', {});
  const nodeInfo = await rpc<{ nodeId: string }>('Node', 'NodeGetInfo', {});
  check(`node id is ${NODE_ID}`, nodeInfo?.nodeId === NODE_ID, nodeInfo?.nodeId);
  const caps = await rpc<{ capabilities: Array<{ rpc?: { type: string } }> }>('Node', 'NodeGetCapabilities', {});
  const capTypes = (caps?.capabilities ?? []).map((c) => c.rpc?.type ?? '?');
  check('STAGE_UNSTAGE_VOLUME capability', capTypes.includes('STAGE_UNSTAGE_VOLUME'), capTypes.join(','));

  check(`no controller for ${NQN} before staging`, controllers(NQN).length === 0);

  // stage: nvme connect, device by NQN, mkfs (blank device), mount at the staging path
  await rpc('Node', 'NodeStageVolume', stageReq, 'NodeStageVolume (ext4)');
  const ctrls = controllers(NQN);
  const dev = deviceOf(NQN);
  check('one controller connected for the NQN', ctrls.length === 1, ctrls.join(','));
  check(
    'controller is nvme-tcp and live',
    ctrls.length === 1 && readSys(`/sys/class/nvme/${ctrls[0]}/transport`) === 'tcp' && readSys(`/sys/class/nvme/${ctrls[0]}/state`) === 'live',
  );
  check('namespace device found by NQN', !!dev, dev);
  const staged = mountAt(STAGING);
  check(
    'staging path is an ext4 mount of the NVMe device',
    staged?.fsType === 'ext4' && staged.source === dev,
    `${staged?.source} ${staged?.fsType}`,
  );
  await rpc('Node', 'NodeStageVolume', stageReq, 'NodeStageVolume again (idempotent)');
  check('still one controller after the repeated stage', controllers(NQN).length === 1);
  check('still one mount at the staging path', mounts().filter((m) => m.mountPoint === STAGING).length === 1);

  // publish: bind mount at the pod's target path
  await rpc('Node', 'NodePublishVolume', pubReq, 'NodePublishVolume');
  await rpc('Node', 'NodePublishVolume', pubReq, 'NodePublishVolume again (idempotent)');
  const published = mountAt(TARGET);
  check(
    'target path is mounted (bind of the staged file system)',
    published?.fsType === 'ext4' && published.source === dev,
    `${published?.source} ${published?.fsType}`,
  );

  // data through the pod's path, checked through the staging path and after a remount from the device
  const data = randomBytes(4 * 1024 * 1024);
  const sum = sha256(data);
  try {
    writeSynced(path.join(TARGET, 'data.bin'), data);
    check('4 MiB written through the target path', true);
  } catch (err) {
    check('4 MiB written through the target path', false, (err as Error).message);
  }
  check('checksum through the staging path', sha256(readFileSync(path.join(STAGING, 'data.bin'))) === sum);

  const stats = await rpc<{ usage: Array<{ unit: string; total: string; used: string }>; volumeCondition?: { abnormal: boolean; message: string } }>(
    'Node',
    'NodeGetVolumeStats',
    { volumeId: VOLUME_ID, volumePath: TARGET },
  );
  const bytes = stats?.usage.find((u) => u.unit === 'BYTES');
  check(
    'volume stats report bytes used and total',
    !!bytes && Number(bytes.total) > 0 && Number(bytes.used) > 0,
    bytes ? `${bytes.used}/${bytes.total}` : '',
  );
  if (stats?.volumeCondition) check('volume condition normal', stats.volumeCondition.abnormal === false, stats.volumeCondition.message);

  await rpc('Node', 'NodeUnpublishVolume', { volumeId: VOLUME_ID, targetPath: TARGET }, 'NodeUnpublishVolume');
  check('target path unmounted', !mountAt(TARGET));
  await rpc('Node', 'NodeUnstageVolume', { volumeId: VOLUME_ID, stagingTargetPath: STAGING }, 'NodeUnstageVolume');
  check('staging path unmounted', !mountAt(STAGING));
  check('controller disconnected after unstage', controllers(NQN).length === 0, controllers(NQN).join(','));

  // stage again: the existing file system is found, never formatted again; the data is intact
  await rpc('Node', 'NodeStageVolume', stageReq, 'NodeStageVolume after unstage (reconnect)');
  check('reconnected: device found by NQN', !!deviceOf(NQN), deviceOf(NQN));
  let again: string;
  try {
    again = sha256(readFileSync(path.join(STAGING, 'data.bin')));
  } catch (err) {
    again = (err as Error).message;
  }
  check('data intact after unstage + stage (not reformatted)', again === sum);
  await rpc('Node', 'NodeUnstageVolume', { volumeId: VOLUME_ID, stagingTargetPath: STAGING }, 'NodeUnstageVolume (final)');
  check('controller disconnected at the end', controllers(NQN).length === 0);

  log(`${passes} passed, ${fails} failed`);
  return fails;
}

main()
  .then((n) => {
    client.close();
    process.exit(Math.min(n, 100));
  })
  .catch((err: unknown) => {
    console.log(`@@ FAIL: node-plugin driver crashed: ${(err as Error).stack ?? String(err)}`);
    process.exit(101);
  });
