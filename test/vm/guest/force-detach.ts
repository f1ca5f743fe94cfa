/**
 * VM scenario driver (test/vm/scenarios/force-detach.sh, issue 15 item 6): storage-side fencing after a lost node, on
 * the kernel target. In this process: a private redis-server, the simulator with its nvmet backend and the controller
 * with an in-process worker (storage-side fencing on, standalone nodes A and B). Host A is the kernel initiator
 * connected with node A's host NQN (no node plugin: the point is what the target lets in). A writes; the operator's
 * `rds-csi volumes detach --node A --force` runs (its body, detachVolumesOfNode, in this process: a second Node.js
 * start costs tens of seconds under TCG; the binary is covered by test/cli/volumes-detach.test.ts): fence.detach jobs
 * through Redis, run by the worker; then A's reconnect (a
 * controller reset) and a fresh connect are refused by nvmet, B is published and connects, and reads A's data.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { hostNqnForNode } from '../../../src/domain/host-nqn';
import { controllerCall as call, startDriverStack } from './driver-stack';
import {
  check,
  controllers,
  ctrlState,
  deviceOf,
  dropCaches,
  fabricsConnect,
  log,
  MiB,
  NVMET,
  randomData,
  runMain,
  sh,
  sha256,
  sha256File,
  sleep,
  waitFor,
  writeSynced,
} from './lib';

const A = 'node-a';
const B = 'node-b';
const CTL_SOCKET = '/run/csi/controller.sock';
const DATA_DIR = '/var/lib/rds-csi-vm/sim';
const closers: Array<() => Promise<void>> = [];
const cap = { block: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } };
const allowedHosts = (nqn: string): string[] =>
  existsSync(`${NVMET}/subsystems/${nqn}`) ? readdirSync(`${NVMET}/subsystems/${nqn}/allowed_hosts`) : [];
let watched = '';

async function main(): Promise<void> {
  const { detachVolumesOfNode } = await import('../../../src/cli/detach-command');
  const { redisTargetFromConfig } = await import('../../../src/queue/connection');
  const { cfg, ctl } = await startDriverStack({ socket: CTL_SOCKET, dataDir: DATA_DIR, poolSizeBytes: 4 * 1024 * MiB, nodes: [A, B], closers });
  check('redis-server, simulator --nvmet, controller + worker (storage-side fencing) started', true);

  const created = await call<{ volume: { volumeId: string; volumeContext: Record<string, string> } }>(ctl, 'CreateVolume', {
    name: 'pvc-vm-fence',
    capacityRange: { requiredBytes: String(64 * MiB) },
    volumeCapabilities: [cap],
  });
  const v = created?.volume;
  if (!v) return;
  const nqn = v.volumeContext.nqn ?? '';
  watched = nqn;
  const [hostA, hostB] = [hostNqnForNode(A), hostNqnForNode(B)];
  await call(ctl, 'ControllerPublishVolume', { volumeId: v.volumeId, nodeId: A, volumeCapability: cap }, `ControllerPublishVolume to ${A}`);
  check(`only ${A}'s host NQN allowed on the target`, allowedHosts(nqn).join() === hostA, allowedHosts(nqn).join(' '));

  // Host A: the kernel initiator with A's host NQN, reconnecting every second for up to 20 s after a loss.
  const ca = fabricsConnect(nqn, hostA, { ctrl_loss_tmo: 20, reconnect_delay: 1 });
  check('host A connects', ca.ok, ca.out);
  await waitFor(10000, () => !!deviceOf(nqn));
  const devA = deviceOf(nqn);
  const ctrlA = controllers(nqn)[0];
  const data = randomData(4 * MiB);
  check('host A writes 4 MiB (fsync) to the namespace', !!devA && writeSynced(devA, data, 0) === undefined, `${devA} ${ctrlA}`);

  // The operator declares A lost (A is still connected: --force, as Kubernetes would still show it Ready).
  const t = Date.now();
  const det = await detachVolumesOfNode({ cfg, target: redisTargetFromConfig(cfg), timeoutMs: 10000, json: false }, A, {
    force: true,
    waitMs: 60000,
  });
  log(`volumes detach --node ${A} --force (${Date.now() - t} ms): ${JSON.stringify(det)}`);
  check(
    '`volumes detach --node A --force`: forced (no Kubernetes to ask) and the volume detached',
    det.forced && det.outcomes.length === 1 && det.outcomes[0]?.volumeId === v.volumeId && det.outcomes[0]?.result === 'detached',
  );
  const left = allowedHosts(nqn);
  check(`A's host NQN no longer allowed by nvmet (allowed: ${left.join(' ') || 'none'})`, !left.includes(hostA) && left.length > 0, left.join(' '));

  // What the kernel target does to the controller A already has: the allowed hosts are checked on the Connect command
  // only, so removing A's host does not tear down its live controller (this run: the write below succeeds). Storage
  // fencing shuts a node out at its next (re)connect: a lost node's connection has dropped by then (keep-alive).
  const w = ctrlA
    ? sh('timeout', ['5', 'dd', 'if=/dev/zero', `of=${devA}`, 'bs=4096', 'count=1', 'seek=4096', 'oflag=direct,dsync', 'status=none'])
    : { code: -1, out: '' };
  log(`finding: a write on A's existing controller after the detach: exit ${w.code} ${w.out} (state ${ctrlA ? ctrlState(ctrlA) : '-'})`);

  // A "comes back": its controller reconnects (reset = a new Connect) and is refused; it never gets live again.
  // The write to reset_controller waits for the reset; its reconnect refused, it fails (ENETRESET, errno 102).
  let reset: string;
  try {
    if (ctrlA) writeFileSync(`/sys/class/nvme/${ctrlA}/reset_controller`, '1');
    reset = 'reset returned ok';
  } catch (err) {
    reset = `reset failed: ${(err as Error).message}`;
  }
  log(`A's controller reset (a reconnect with A's host NQN): ${reset}`);
  await sleep(4000);
  const stA = ctrlA ? ctrlState(ctrlA) : undefined;
  check(`A's reconnect refused: its controller is not live 4 s after a reset (state ${stA ?? 'gone'})`, stA !== 'live', stA ?? 'gone');
  // (No write is tried through it: with native multipath the I/O would queue until the controller is given up.)
  if (ctrlA) sh('nvme', ['disconnect', '-d', ctrlA]);
  await waitFor(25000, () => controllers(nqn).length === 0);
  const again = fabricsConnect(nqn, hostA, { ctrl_loss_tmo: 5 });
  check("a fresh connect with A's host NQN is refused by nvmet", !again.ok, again.out.split('\n')[0]);

  // The volume moves to B.
  await call(ctl, 'ControllerPublishVolume', { volumeId: v.volumeId, nodeId: B, volumeCapability: cap }, `ControllerPublishVolume to ${B}`);
  check(`only ${B}'s host NQN allowed now`, allowedHosts(nqn).join() === hostB, allowedHosts(nqn).join(' '));
  const cb = fabricsConnect(nqn, hostB, { ctrl_loss_tmo: 5 });
  check('host B connects', cb.ok, cb.out);
  await waitFor(10000, () => !!deviceOf(nqn));
  const devB = deviceOf(nqn);
  dropCaches();
  check("B reads A's 4 MiB intact", !!devB && sha256File(devB, 4 * MiB) === sha256(data));
  for (const c of controllers(nqn)) sh('nvme', ['disconnect', '-d', c]);
  await call(ctl, 'ControllerUnpublishVolume', { volumeId: v.volumeId, nodeId: B });
  await call(ctl, 'DeleteVolume', { volumeId: v.volumeId });
}

runMain('force-detach', main, async () => {
  if (watched) for (const c of controllers(watched)) sh('nvme', ['disconnect', '-d', c]);
  for (const c of closers.reverse()) await c().catch((err: Error) => log(`close: ${err.message}`));
  const subs = readdirSync(`${NVMET}/subsystems`);
  check('everything stopped: no subsystem left in configfs', subs.length === 0, subs.join(','));
});
