/**
 * VM scenario driver (test/vm/scenarios/shutdown.sh): safe node shutdown with ctrl_loss_tmo −1 (issue 15 item 1) on
 * the real kernel. One ext4 volume staged and published by the real plugin (ctrl_loss_tmo −1, reconnect_delay 1 s),
 * plus an unmanaged controller of a prefix look-alike NQN (`<prefix>x:…`, connected with ctrl_loss_tmo −1).
 *
 * (b) pod restart: the target unreachable (port→subsystem link removed), the plugin gets SIGTERM and the chart's
 *     preStop command (`rds-csi node shutdown --if-node-shutting-down`) runs — the VM has no logind/systemd on D-Bus,
 *     like a node that is not shutting down — the plugin starts again while the target is still down: ctrl_loss_tmo
 *     stays −1 ("off"), the controller outlives the shutdown bound, the mounts stay; after the restore the data is
 *     intact and a new write lands.
 * (a) node shutdown: both targets unreachable, dirty page-cache data on the volume (what makes umount wait), the
 *     preStop command with a stand-in for logind answering PreparingForShutdown=true (a dbus-send script; the rest
 *     is the production path): every managed controller is deleted by the kernel within the bound, the unmanaged
 *     one is untouched (still "off", reconnects when its target returns), and umount of the target and staging
 *     mounts completes. The times are printed.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  check,
  controllers,
  ctrlState,
  deviceOf,
  dropCaches,
  elapsed,
  fabricsConnect,
  log,
  MAIN,
  mountAt,
  MiB,
  nvmetExport,
  nvmetLink,
  nvmetUnexport,
  nvmetUnlink,
  Plugin,
  PREFIX,
  randomData,
  readSys,
  runMain,
  sh,
  sha256,
  sha256File,
  sleep,
  volume,
  waitFor,
  writeSynced,
} from './lib';

const BOUND = 10; // the plugin's default node.shutdown.ctrlLossTmo
const RECONNECT_DELAY = 1; // volume() sets reconnectDelay 1
const vol = volume('pvc-vm-shutdown-0001', 'ext4');
const OTHER = `${PREFIX}x:pvc-vm-lookalike`; // not managed: a prefix look-alike
const OTHER_HOST = 'nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-0000000000aa';
const plugin = new Plugin();
const tmo = (ctrl: string): string | undefined => readSys(`/sys/class/nvme/${ctrl}/ctrl_loss_tmo`);

/** `rds-csi node shutdown …` as the chart's preStop hook runs it; its JSON answer and wall time. */
function shutdownCommand(
  args: string[],
  env: Record<string, string> = {},
): { ok: boolean; out: string; seconds: number; json?: Record<string, unknown> } {
  const t = Date.now();
  const r = spawnSync(process.execPath, [MAIN, 'node', 'shutdown', '--nqn-prefix', PREFIX, ...args], {
    encoding: 'utf8',
    timeout: 120000,
    env: { ...process.env, ...env },
  });
  const seconds = (Date.now() - t) / 1000;
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(line) as Record<string, unknown>;
  } catch {
    /* reported below */
  }
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().slice(-600), seconds, json };
}

/** A stand-in for the host's logind on D-Bus, answering PreparingForShutdown=true (as during a real shutdown). */
function fakeLogind(): string {
  const p = '/tmp/dbus-send-shutting-down';
  writeFileSync(p, '#!/bin/sh\ncase "$*" in *PreparingForShutdown*) echo "   variant       boolean true"; exit 0;; esac\nexit 1\n');
  chmodSync(p, 0o755);
  return p;
}

async function podRestart(dev: string, ctrl: string, sums: Map<string, string>): Promise<void> {
  log('(b) pod restart during an outage');
  const tOut = Date.now();
  nvmetUnlink(vol.nqn);
  check('(b) controller left live', await waitFor(10000, () => ctrlState(ctrl) !== 'live', 50), ctrlState(ctrl));
  check('(b) plugin stopped by SIGTERM', await plugin.kill('SIGTERM'));
  const pre = shutdownCommand(['--if-node-shutting-down']);
  check(
    `(b) preStop command: not a node shutdown, nothing lowered (${pre.seconds.toFixed(1)} s)`,
    pre.ok && pre.json?.action === 'skipped',
    typeof pre.json?.reason === 'string' ? pre.json.reason : pre.out,
  );
  check('(b) ctrl_loss_tmo still off (-1) after SIGTERM + preStop', tmo(ctrl) === 'off', tmo(ctrl));
  check('(b) plugin started again while the target is down', await plugin.start(), `${plugin.lastStartSeconds.toFixed(1)} s`);
  const wait = tOut + (BOUND + RECONNECT_DELAY + 3) * 1000 - Date.now();
  if (wait > 0) await sleep(wait);
  check(
    `(b) controller still there ${elapsed(tOut)} s into the outage (longer than the ${BOUND} s shutdown bound), ctrl_loss_tmo off`,
    controllers(vol.nqn).includes(ctrl) && tmo(ctrl) === 'off',
    `${controllers(vol.nqn).join(',')} ${ctrlState(ctrl)} ${tmo(ctrl)}`,
  );
  check('(b) staging and target still mounted on the device', mountAt(vol.staging)?.source === dev && mountAt(vol.target)?.source === dev);
  nvmetLink(vol.nqn);
  const tRe = Date.now();
  check(`(b) controller live again after restore`, await waitFor(60000, () => ctrlState(ctrl) === 'live', 50), `${elapsed(tRe)} s`);
  const more = randomData(2 * MiB);
  const f = path.join(vol.target, 'after-restart.bin');
  check('(b) a new write lands after the restore', writeSynced(f, more) === undefined);
  sums.set(f, sha256(more));
  dropCaches();
  for (const [file, sum] of sums) check(`(b) checksum of ${path.basename(file)} after dropping caches`, sha256File(file) === sum);
  check('(b) same device', deviceOf(vol.nqn) === dev, deviceOf(vol.nqn));
}

async function nodeShutdown(dev: string, other: string): Promise<void> {
  log('(a) node shutdown with the targets unreachable');
  const managed = controllers(vol.nqn);
  const tOut = Date.now();
  nvmetUnlink(vol.nqn);
  nvmetUnlink(OTHER);
  const down = await waitFor(10000, () => managed.every((c) => ctrlState(c) !== 'live') && ctrlState(other) !== 'live', 50);
  check(
    '(a) managed and unmanaged controllers left live',
    down,
    `${managed.map((c) => `${c}=${ctrlState(c)}`).join(',')} ${other}=${ctrlState(other)}`,
  );
  // Dirty data only in the page cache: a umount must write it back, which waits while the controller reconnects.
  writeFileSync(path.join(vol.target, 'dirty.bin'), randomData(4 * MiB));

  const t0 = Date.now();
  const pre = shutdownCommand(['--if-node-shutting-down'], { RDS_CSI_NODE_SHUTDOWN_DBUS_SEND: fakeLogind() });
  const lowered = (pre.json?.report as { lowered?: Array<{ controller: string; after?: string }> } | undefined)?.lowered ?? [];
  check(
    `(a) preStop command on a node shutdown lowered ctrl_loss_tmo of every managed controller (${pre.seconds.toFixed(1)} s)`,
    pre.ok && pre.json?.action === 'lowered' && managed.every((c) => lowered.some((l) => l.controller === c)),
    pre.out,
  );
  check(
    `(a) managed ctrl_loss_tmo now ${BOUND}, the unmanaged one still off`,
    managed.every((c) => !controllers(vol.nqn).includes(c) || tmo(c) === String(BOUND)) && tmo(other) === 'off',
    `${managed.map((c) => `${c}=${tmo(c)}`).join(',')} ${other}=${tmo(other)}`,
  );
  check('(a) plugin stopped by SIGTERM', await plugin.kill('SIGTERM'));
  // The bound runs from the write of ctrl_loss_tmo, at the end of the command (whose own start takes seconds under TCG).
  const tLowered = t0 + pre.seconds * 1000;
  const gone = await waitFor((BOUND + RECONNECT_DELAY + 30) * 1000, () => controllers(vol.nqn).length === 0, 100);
  const goneS = (Date.now() - tLowered) / 1000;
  log(
    `MEASURED: managed controllers deleted by the kernel ${goneS.toFixed(1)} s after ctrl_loss_tmo was lowered (command ${pre.seconds.toFixed(1)} s; outage began ${elapsed(tOut)} s ago)`,
  );
  check(
    `(a) every managed controller gone within the bound (${goneS.toFixed(1)} s after lowering; bound ${BOUND} s + reconnect ${RECONNECT_DELAY} s + 5 s)`,
    gone && goneS <= BOUND + RECONNECT_DELAY + 5,
  );

  const tu = Date.now();
  const u1 = sh('umount', [vol.target], 120000);
  const u2 = sh('umount', [vol.staging], 120000);
  const umountS = (Date.now() - tu) / 1000;
  log(`MEASURED: umount of target + staging mount ${umountS.toFixed(1)} s; shutdown command to unmounted ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  check(`(a) umount of the target mount completes`, u1.code === 0, u1.out);
  check(`(a) umount of the staging mount completes (${umountS.toFixed(1)} s for both)`, u2.code === 0 && !mountAt(vol.staging), u2.out);
  check('(a) the device is gone with its controller', deviceOf(vol.nqn) === undefined || deviceOf(vol.nqn) !== dev, deviceOf(vol.nqn));

  check(
    '(a) unmanaged controller untouched: still there, ctrl_loss_tmo off',
    ctrlState(other) !== undefined && tmo(other) === 'off',
    `${ctrlState(other)} ${tmo(other)}`,
  );
  nvmetLink(OTHER);
  check(
    '(a) unmanaged controller live again once its target returns',
    await waitFor(30000, () => ctrlState(other) === 'live', 100),
    ctrlState(other),
  );
}

async function main(): Promise<void> {
  plugin.spawn();
  nvmetExport(vol.nqn, 256 * MiB);
  nvmetExport(OTHER, 64 * MiB);
  const c = fabricsConnect(OTHER, OTHER_HOST, { ctrl_loss_tmo: -1, reconnect_delay: 1 });
  check('unmanaged look-alike NQN connected with ctrl_loss_tmo -1', c.ok, c.out);
  check('rds-csi node ready', await plugin.ready(), `${plugin.lastStartSeconds.toFixed(1)} s`);
  await plugin.rpc('NodeStageVolume', vol.stageReq, 'NodeStageVolume (ext4)');
  await plugin.rpc('NodePublishVolume', vol.pubReq);
  const dev = deviceOf(vol.nqn);
  const ctrl = controllers(vol.nqn)[0];
  const other = controllers(OTHER)[0];
  check('device and controllers found by NQN', !!dev && !!ctrl && !!other, `${dev} ${ctrl} ${other}`);
  if (!dev || !ctrl || !other) return;
  check('the plugin connected with ctrl_loss_tmo -1 (off)', tmo(ctrl) === 'off' && tmo(other) === 'off', `${tmo(ctrl)} ${tmo(other)}`);
  const sums = new Map<string, string>();
  const base = randomData(8 * MiB);
  const baseFile = path.join(vol.target, 'base.bin');
  check('8 MiB written through the target path', writeSynced(baseFile, base) === undefined);
  sums.set(baseFile, sha256(base));

  await podRestart(dev, ctrl, sums);
  await nodeShutdown(dev, other);
}

runMain('shutdown', main, async () => {
  plugin.closeClient();
  await plugin.kill('SIGTERM');
  for (const p of [vol.target, vol.staging]) if (mountAt(p)) sh('umount', ['-l', p]);
  sh('nvme', ['disconnect', '-n', OTHER]);
  for (const n of [vol.nqn, OTHER]) {
    try {
      nvmetUnexport(n);
    } catch (err) {
      log(`unexport ${n}: ${(err as Error).message}`);
    }
  }
});
