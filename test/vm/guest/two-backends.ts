/**
 * VM scenario driver (test/vm/scenarios/two-backends.sh, issue 16 item 5): one driver, two RDS backends, each its own
 * simulator with its own kernel NVMe/TCP target, and a node that reaches only the primary.
 *
 *  - primary `default`: simulator --nvmet on 127.0.0.1:4420; extra `rds-b` (the `backends` config key): simulator
 *    --nvmet --nvmet-address 127.0.0.2 --nvmet-port 4421 (127.0.0.2 is on lo: Linux routes all of 127/8 locally);
 *  - the controller + worker in this process (startDriverStack), the node plugin in its own with
 *    `node.backends=default=127.0.0.1:4420,rds-b=127.0.0.2:4421` and its start-up reachability check;
 *  - "this node does not reach rds-b" (set up by two-backends.sh before any node process starts): a routing rule,
 *    `ip rule add pref 10 to 127.0.0.2/32 unreachable` (the local table's rule moved behind it), so every connect
 *    from this node to 127.0.0.2 fails at once with ENETUNREACH, as for a node on a network without a route to the
 *    second RDS. The image has no iptables/nft; a routing rule is the firewall iproute2 gives. Both targets really
 *    listen from before the plugin starts, as an RDS's port does (a listener subsystem links both ports first: nvmet
 *    listens only on a port with a subsystem), so the rule is what the node's check meets, not an empty port.
 *    Lifting the rule later shows the target serving rds-b's volume (discovery).
 *
 * Shown: NodeGetInfo reports only the primary's segment; CreateVolume `backend: rds-b` with the node's segment as
 * requisite → RESOURCE_EXHAUSTED; an rds-b volume (made without that requisite) is served by the second target
 * (configfs: on the 127.0.0.2:4421 port only), and staged on this node anyway → NodeStage FAILED_PRECONDITION, nothing
 * connected or mounted; a primary volume goes the whole way (publish, stage, publish, data, unstage, unpublish, delete).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { hostNqnForNode } from '../../../src/domain/host-nqn';
import { controllerCall as call, startDriverStack } from './driver-stack';
import {
  check,
  controllers,
  deviceOf,
  dropCaches,
  hostNqnOf,
  log,
  MiB,
  mountAt,
  NVMET,
  Plugin,
  randomData,
  readSys,
  runMain,
  sh,
  sha256,
  sha256File,
  writeSynced,
} from './lib';

const NODE = 'vm1';
const CTL_SOCKET = '/run/csi/controller.sock';
const DRIVER = 'rds.csi.mikrotik.com';
const PRIMARY = { name: 'default', address: '127.0.0.1', port: 4420 };
const B = { name: 'rds-b', address: '127.0.0.2', port: 4421 };
const PRIMARY_SEGMENT = { [`${DRIVER}/backend`]: PRIMARY.name };
const B_SEGMENT = { [`${DRIVER}/backend.${B.name}`]: 'true' };
/** A subsystem that only makes rds-b's port listen from the start (no namespace, no host allowed). */
const LISTENER_NQN = 'nqn.2026-12.test.rds-csi-vm:two-backends-listener';
const RESOURCE_EXHAUSTED = 8;
const FAILED_PRECONDITION = 9;

const plugin = new Plugin({
  nodeId: NODE,
  // node.backends / node.backendReachMs (src/config/schema.ts nodeSchema) by their RDS_CSI_NODE_* env names
  env: {
    RDS_CSI_NODE_BACKENDS: `${PRIMARY.name}=${PRIMARY.address}:${PRIMARY.port},${B.name}=${B.address}:${B.port}`,
    RDS_CSI_NODE_BACKEND_REACH_MS: '2000',
  },
});
const closers: Array<() => Promise<void>> = [];
const cap = { mount: { fsType: 'ext4', mountFlags: [] }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };
const subsystems = (): string[] => readdirSync(`${NVMET}/subsystems`);

/** The configfs ports (id, address, service id) a subsystem is linked into. */
function portsOf(nqn: string): Array<{ id: string; addr: string }> {
  return readdirSync(`${NVMET}/ports`)
    .filter((id) => existsSync(`${NVMET}/ports/${id}/subsystems/${nqn}`))
    .map((id) => ({ id, addr: `${readSys(`${NVMET}/ports/${id}/addr_traddr`)}:${readSys(`${NVMET}/ports/${id}/addr_trsvcid`)}` }));
}

/** A TCP connect from this node (what the plugin's reachability check does): 'connected' or the error code. */
function tcpConnect(host: string, port: number, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (r: string): void => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(ms, () => done('timeout'));
    s.once('connect', () => done('connected'));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

function liftRule(): void {
  sh('ip', ['rule', 'del', 'pref', '10', 'to', `${B.address}/32`, 'unreachable']);
}

type Created = {
  volume: {
    volumeId: string;
    capacityBytes: string;
    volumeContext: Record<string, string>;
    accessibleTopology?: Array<{ segments: Record<string, string> }>;
  };
};

const createReq = (name: string, parameters: Record<string, string>, accessibilityRequirements?: object): object => ({
  name,
  capacityRange: { requiredBytes: String(256 * MiB) },
  volumeCapabilities: [cap],
  parameters: { 'csi.storage.k8s.io/pvc/name': name, 'csi.storage.k8s.io/pvc/namespace': 'vm', ...parameters },
  ...(accessibilityRequirements ? { accessibilityRequirements } : {}),
});

const topo = (v: Created['volume']): string => JSON.stringify((v.accessibleTopology ?? []).map((t) => t.segments));

async function main(): Promise<void> {
  const t0 = Date.now();
  plugin.spawn();
  // the scenario script (two-backends.sh) took the route to 127.0.0.2 away before this process started
  check(`this node cannot reach rds-b at ${B.address}:${B.port}`, (await tcpConnect(B.address, B.port)) === 'ENETUNREACH');
  const { ctl } = await startDriverStack({
    socket: CTL_SOCKET,
    dataDir: '/var/lib/rds-csi-vm/sim-default',
    poolSizeBytes: 8 * 1024 * MiB,
    nodes: [NODE],
    closers,
    backends: [{ name: B.name, dataDir: '/var/lib/rds-csi-vm/sim-rds-b', nvmetAddress: B.address, nvmetPort: B.port }],
  });
  check('redis-server, two simulators --nvmet (default, rds-b), controller + worker started', true, `${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const hostNqn = hostNqnForNode(NODE);

  // ---- a volume on rds-b: its id, context and topology name rds-b, its subsystem is on rds-b's port only
  const cb = await call<Created>(ctl, 'CreateVolume', createReq('pvc-on-b', { backend: B.name }), 'CreateVolume backend: rds-b');
  const vb = cb?.volume;
  const nqnB = vb?.volumeContext.nqn ?? '';
  if (vb) {
    log(`rds-b volume: ${vb.volumeId} ${JSON.stringify(vb.volumeContext)} topology ${topo(vb)}`);
    check(`its id carries @${B.name}`, vb.volumeId.endsWith(`@${B.name}`), vb.volumeId);
    check(
      `its volume_context targets ${B.address}:${B.port}`,
      vb.volumeContext.targetAddress === B.address && vb.volumeContext.targetPort === String(B.port),
    );
    check(`its accessible_topology is rds-b's segment only`, topo(vb) === JSON.stringify([B_SEGMENT]), topo(vb));
    const ports = portsOf(nqnB);
    check(
      `served by the second target: configfs links it into the ${B.address}:${B.port} port only`,
      ports.length === 1 && ports[0]?.addr === `${B.address}:${B.port}`,
      JSON.stringify(ports),
    );
    const file = readSys(`${NVMET}/subsystems/${nqnB}/namespaces/1/device_path`) ?? '';
    check("its namespace is a file of rds-b's simulator", file.startsWith('/var/lib/rds-csi-vm/sim-rds-b/'), file);
    await call(
      ctl,
      'ControllerPublishVolume',
      { volumeId: vb.volumeId, nodeId: NODE, volumeCapability: cap },
      `ControllerPublishVolume rds-b volume to ${NODE}`,
    );
    const allowed = existsSync(`${NVMET}/subsystems/${nqnB}`) ? readdirSync(`${NVMET}/subsystems/${nqnB}/allowed_hosts`) : [];
    check(`the worker fenced it on rds-b: only ${NODE}'s host NQN allowed`, allowed.join() === hostNqn, allowed.join(' '));
  }

  // ---- a volume on the primary, asked for where the node is
  const ca = await call<Created>(
    ctl,
    'CreateVolume',
    createReq('pvc-on-default', {}, { requisite: [{ segments: PRIMARY_SEGMENT }], preferred: [{ segments: PRIMARY_SEGMENT }] }),
    'CreateVolume on the primary (requisite: its segment)',
  );
  const va = ca?.volume;
  const nqnA = va?.volumeContext.nqn ?? '';
  if (va) {
    log(`primary volume: ${va.volumeId} ${JSON.stringify(va.volumeContext)} topology ${topo(va)}`);
    check(
      'its id is a bare slot, its context 127.0.0.1:4420, its topology the primary segment',
      !va.volumeId.includes('@') &&
        va.volumeContext.targetAddress === PRIMARY.address &&
        va.volumeContext.targetPort === String(PRIMARY.port) &&
        topo(va) === JSON.stringify([PRIMARY_SEGMENT]),
      `${va.volumeId} ${topo(va)}`,
    );
    check(
      `served by the first target: on the ${PRIMARY.address}:${PRIMARY.port} port only`,
      JSON.stringify(portsOf(nqnA).map((p) => p.addr)) === JSON.stringify([`${PRIMARY.address}:${PRIMARY.port}`]),
      JSON.stringify(portsOf(nqnA)),
    );
  }

  // ---- the node: reachability at start-up, only the primary's segment
  check('rds-csi node ready', await plugin.ready(), `${plugin.lastStartSeconds.toFixed(1)} s`);
  const info = await plugin.rpc<{ accessibleTopology?: { segments: Record<string, string> } }>('NodeGetInfo', {});
  const nodeSegments = info?.accessibleTopology?.segments ?? {};
  check(
    "NodeGetInfo: only the primary's segment (rds-b listed in node.backends, not reachable)",
    JSON.stringify(nodeSegments) === JSON.stringify(PRIMARY_SEGMENT),
    JSON.stringify(nodeSegments),
  );

  // ---- CreateVolume on rds-b where only this node may use it: not placed
  const t = Date.now();
  try {
    await ctl.call(
      'Controller',
      'CreateVolume',
      createReq('pvc-b-on-vm1', { backend: B.name }, { requisite: [{ segments: nodeSegments }], preferred: [{ segments: nodeSegments }] }),
      60000,
    );
    check("CreateVolume backend: rds-b, requisite = the node's segments → RESOURCE_EXHAUSTED", false, 'succeeded');
  } catch (err) {
    const e = err as { code?: number; details?: string };
    check(
      "CreateVolume backend: rds-b, requisite = the node's segments → RESOURCE_EXHAUSTED",
      e.code === RESOURCE_EXHAUSTED,
      `code ${e.code}: ${e.details}; ${Date.now() - t} ms`,
    );
  }
  check(
    'no subsystem made for it',
    JSON.stringify(subsystems().sort()) === JSON.stringify([LISTENER_NQN, nqnA, nqnB].sort()),
    subsystems().join(' '),
  );

  // ---- the rds-b volume staged on this node anyway
  if (vb) {
    const staging = `/var/lib/kubelet/plugins/kubernetes.io/csi/${DRIVER}/${vb.volumeId}/globalmount`;
    const r = await plugin.call('Node', 'NodeStageVolume', {
      volumeId: vb.volumeId,
      volumeContext: vb.volumeContext,
      publishContext: {},
      volumeCapability: cap,
      stagingTargetPath: staging,
    });
    check(
      'NodeStageVolume of the rds-b volume → FAILED_PRECONDITION naming rds-b',
      r.code === FAILED_PRECONDITION && (r.details ?? '').includes(B.name),
      r.code === undefined ? 'succeeded' : `code ${r.code}: ${r.details}; ${r.ms} ms`,
    );
    check('nothing connected, nothing mounted', controllers(nqnB).length === 0 && !mountAt(staging), controllers(nqnB).join(' '));

    liftRule();
    const disc = sh('nvme', ['discover', '-t', 'tcp', '-a', B.address, '-s', String(B.port), '--hostnqn', hostNqn]).out;
    check(
      `with the rule lifted, discovery at ${B.address}:${B.port} (as ${NODE}) lists the rds-b volume, not the primary's`,
      disc.includes(nqnB) && !!nqnA && !disc.includes(nqnA),
      disc
        .split('\n')
        .filter((l) => l.includes('subnqn'))
        .join(' ')
        .replace(/\s+/g, ' '),
    );
  }

  // ---- the primary volume the whole way
  if (va) {
    const pub = await call<{ publishContext: Record<string, string> }>(
      ctl,
      'ControllerPublishVolume',
      { volumeId: va.volumeId, nodeId: NODE, volumeCapability: cap },
      `ControllerPublishVolume primary volume to ${NODE}`,
    );
    const staging = `/var/lib/kubelet/plugins/kubernetes.io/csi/${DRIVER}/${va.volumeId}/globalmount`;
    const target = `/var/lib/kubelet/pods/pod-two/volumes/kubernetes.io~csi/${va.volumeId}/mount`;
    const base = {
      volumeId: va.volumeId,
      volumeContext: va.volumeContext,
      publishContext: pub?.publishContext ?? {},
      volumeCapability: cap,
      stagingTargetPath: staging,
    };
    await plugin.rpc('NodeStageVolume', base, 'NodeStageVolume of the primary volume');
    check(
      'connected to 127.0.0.1:4420 with the node host NQN, device found',
      !!deviceOf(nqnA) &&
        controllers(nqnA).map(hostNqnOf).join() === hostNqn &&
        controllers(nqnA).every((c) => (readSys(`/sys/class/nvme/${c}/address`) ?? '').includes(`traddr=${PRIMARY.address},trsvcid=${PRIMARY.port}`)),
      controllers(nqnA)
        .map((c) => readSys(`/sys/class/nvme/${c}/address`))
        .join(' '),
    );
    await plugin.rpc('NodePublishVolume', { ...base, targetPath: target });
    const data = randomData(4 * MiB);
    check('4 MiB written through the pod path', writeSynced(path.join(target, 'data.bin'), data) === undefined);
    dropCaches();
    check('data read back intact', sha256File(path.join(target, 'data.bin')) === sha256(data));
    await plugin.rpc('NodeUnpublishVolume', { volumeId: va.volumeId, targetPath: target });
    await plugin.rpc('NodeUnstageVolume', { volumeId: va.volumeId, stagingTargetPath: staging });
    check('node disconnected, nothing mounted', controllers(nqnA).length === 0 && !mountAt(staging));
    await call(ctl, 'ControllerUnpublishVolume', { volumeId: va.volumeId, nodeId: NODE }, 'ControllerUnpublishVolume primary volume');
    await call(ctl, 'DeleteVolume', { volumeId: va.volumeId }, 'DeleteVolume primary volume');
  }
  if (vb) {
    await call(ctl, 'ControllerUnpublishVolume', { volumeId: vb.volumeId, nodeId: NODE }, 'ControllerUnpublishVolume rds-b volume');
    await call(ctl, 'DeleteVolume', { volumeId: vb.volumeId }, 'DeleteVolume rds-b volume');
  }
  check('both subsystems removed from the kernel targets', !subsystems().includes(nqnA) && !subsystems().includes(nqnB), subsystems().join(' '));
}

runMain('two-backends', main, async () => {
  plugin.closeClient();
  await plugin.kill('SIGTERM');
  for (const c of closers.reverse()) await c().catch((err: Error) => log(`close: ${err.message}`));
  check('everything stopped: only the listener subsystem left in configfs', subsystems().join() === LISTENER_NQN, subsystems().join(','));
  log(`nvmet ports left: ${readdirSync(`${NVMET}/ports`).join(' ') || 'none'}; ${readFileSync('/proc/uptime', 'utf8').split(' ')[0]} s uptime`);
});
