import fc from 'fast-check';
import { SECRET_MARK } from './env';

/**
 * Generators of CSI requests, valid and invalid. Requests are templates so that a printed counterexample reads
 * well and replays on any run: `{K}` is the kubelet-like dir, `{S:stage}`/`{S:publish}`/`{S:tmpfs}` the sentinel
 * paths, `{V}` a volume the fuzzer created (never the sentinel), `{VS}` any volume including the sentinel (only in
 * RPCs that must not change it), `{NQN}` the NQN of that same volume, `{CTX}` its volume_context as CreateVolume
 * returned it, `{KV}` a kubelet-like dir of its own, `{SNAP}` a snapshot the fuzzer created. Each RPC mixes wild
 * requests with well-formed ones, so that volumes get created, staged and published and the deeper paths run.
 * Paths never leave the fuzz temp dir: what a wrong unmount or mount can reach is the test's own.
 */

export type Service = 'Identity' | 'Controller' | 'Node' | 'GroupController';
export interface Plan {
  service: Service;
  rpc: string;
  /** Picks the volume/snapshot of {V}, {VS}, {NQN}, {SNAP} from the pools at run time; for Identity, odd = node socket. */
  pick: number;
  req: Record<string, unknown>;
}

const MiB = 1024 * 1024;
const POOL = 64 * 1024 * MiB;

const weird = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '.',
    '..',
    '../etc/passwd',
    'a/b',
    'a\0b',
    '\0',
    'ü',
    '😀',
    'UPPER',
    '-lead',
    'pvc-',
    '%s%n',
    '{V}x',
    'x'.repeat(129),
    'x'.repeat(256),
    'é'.repeat(200),
  ),
  fc.string({ unit: 'grapheme', maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.stringMatching(/^[a-z0-9-]{1,140}$/),
  { arbitrary: fc.constant('y'.repeat(70000)), weight: 1 },
);
/** Once in a while a message beyond gRPC's default 4 MiB receive limit. */
const oversized = fc.constant('z'.repeat(5 * MiB));

const uuidName = fc.constantFrom('0001', '0002', '0003', '0004').map((n) => `pvc-f0220000-0000-4000-8000-00000000${n}`);
const name = fc.oneof({ arbitrary: uuidName, weight: 4 }, fc.constantFrom('fuzz-a', 'Fuzz B', 'snap-1'), weird, { arbitrary: oversized, weight: 1 });
const volumeId = fc.oneof({ arbitrary: fc.constant('{V}'), weight: 6 }, uuidName, weird);
const anyVolumeId = fc.oneof({ arbitrary: fc.constantFrom('{V}', '{VS}'), weight: 6 }, uuidName, weird);
const snapshotId = fc.oneof({ arbitrary: fc.constant('{SNAP}'), weight: 4 }, weird);

const path = fc.oneof(
  { arbitrary: fc.nat(5).map((k) => `{K}/fuzz/${k}/t`), weight: 4 },
  { arbitrary: fc.constantFrom('{S:stage}', '{S:publish}', '{S:tmpfs}'), weight: 3 },
  fc.constantFrom(
    '',
    'some/path',
    'rel',
    '{K}',
    '{K}/fuzz/../fuzz/1/t',
    '{K}/fuzz/1/t/',
    '{K}//fuzz//1/./t',
    '{K}/x\0y',
    `{K}/${'n'.repeat(256)}`,
    `{K}/fuzz/${'n'.repeat(300)}/t`,
    `{K}/${'p/'.repeat(2500)}t`,
    '{K}/fuzz/ünï😀/t',
    '{K}/does/not/exist',
    '{S:tmpfs}/inner',
    '{S:publish}/../mount',
    '{S:stage}/sub',
  ),
);

const size = fc.oneof(
  fc.constantFrom(
    '0',
    '1',
    '-1',
    '4096',
    String(MiB),
    String(64 * MiB),
    String(POOL),
    String(POOL + 1),
    '9223372036854775807',
    '-9223372036854775808',
    'abc',
    '',
  ),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
  fc.integer({ min: 1, max: 2048 }).map((m) => String(m * MiB)),
);
const capacityRange = fc.record({ requiredBytes: size, limitBytes: size }, { requiredKeys: [] });

const MODES = [
  'UNKNOWN',
  'SINGLE_NODE_WRITER',
  'SINGLE_NODE_READER_ONLY',
  'MULTI_NODE_READER_ONLY',
  'MULTI_NODE_SINGLE_WRITER',
  'MULTI_NODE_MULTI_WRITER',
  'SINGLE_NODE_SINGLE_WRITER',
  'SINGLE_NODE_MULTI_WRITER',
];
const mode = fc.oneof(fc.constantFrom(...MODES), fc.integer({ min: 0, max: 7 }), fc.constantFrom(8, 99, 1000, -5, 2147483647, -2147483648));
const accessMode = fc.record({ mode }, { requiredKeys: [] });
const mount = fc.record(
  {
    fsType: fc.oneof(fc.constantFrom('ext4', 'xfs', '', 'btrfs', 'nfs', 'ext4 '), weird),
    mountFlags: fc.array(fc.oneof(fc.constantFrom('ro', 'rw', 'noatime', 'nodev', 'bind', 'remount', 'discard', 'loop', 'uid=0', 'ro,rw'), weird), {
      maxLength: 3,
    }),
    volumeMountGroup: fc.oneof(fc.constantFrom('', '1000'), weird),
  },
  { requiredKeys: [] },
);
export const capability = fc.oneof(
  { arbitrary: fc.record({ mount, accessMode }), weight: 3 },
  { arbitrary: fc.record({ block: fc.constant({}), accessMode }), weight: 2 },
  fc.record({ mount, block: fc.constant({}), accessMode }, { requiredKeys: [] }),
);
const capabilities = fc.array(capability, { maxLength: 3 });

const KEYS = [
  'nqn',
  'targetAddress',
  'targetPort',
  'accessType',
  'fsType',
  'ctrlLossTmo',
  'reconnectDelay',
  'keepAliveTmo',
  'fastIoFailTmo',
  'csi.storage.k8s.io/pvc/name',
  'topology.rds.csi.mikrotik.com/rds',
];
const mapOf = fc.dictionary(
  fc.oneof(fc.constantFrom(...KEYS), weird),
  fc.oneof(fc.constantFrom('127.0.0.1', '4420', 'mount', 'block', '-1', '0', '3601', 'ext4'), weird),
  { maxKeys: 4 },
);
/** A volume_context for {V}: right NQN, sometimes one field off. */
const volumeContext = fc.oneof(
  {
    arbitrary: fc.record(
      {
        nqn: fc.oneof({ arbitrary: fc.constant('{NQN}'), weight: 4 }, weird),
        targetAddress: fc.constantFrom('127.0.0.1', '::1', 'bad host'),
        targetPort: fc.constantFrom('4420', '0', '70000'),
        accessType: fc.constantFrom('mount', 'block', 'other'),
      },
      { requiredKeys: ['nqn'] },
    ),
    weight: 3,
  },
  mapOf,
);
/** Every secrets value carries the mark that must never be seen in a log line or a Redis command. */
const secrets = fc.dictionary(
  fc.oneof(fc.constantFrom('password', 'token', 'csi.storage.k8s.io/node-stage-secret-name', 'user'), weird),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), maxLength: 8 }).map((h) => `${SECRET_MARK}${h}`),
  { maxKeys: 3 },
);
const token = fc.oneof(fc.constantFrom('', '0', '1', '-1', '99999999', 'abc', 'eyJ2IjoxfQ==', '%%%'), weird);
const maxEntries = fc.oneof(fc.integer({ min: -5, max: 20 }), fc.constantFrom(2147483647, -2147483648));
const topology = fc.record(
  { requisite: fc.array(fc.record({ segments: mapOf }), { maxLength: 2 }), preferred: fc.array(fc.record({ segments: mapOf }), { maxLength: 2 }) },
  { requiredKeys: [] },
);
const contentSource = fc.oneof(fc.record({ snapshot: fc.record({ snapshotId }) }), fc.record({ volume: fc.record({ volumeId: anyVolumeId }) }));
const nodeId = fc.oneof({ arbitrary: fc.constant('node-a'), weight: 4 }, fc.constantFrom('node-b', ''), weird);

function opt<T extends Record<string, fc.Arbitrary<unknown>>>(model: T, required: Array<keyof T> = []): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(model, { requiredKeys: required as never[] });
}

const validCap = fc.constantFrom(
  { mount: { fsType: 'ext4' }, accessMode: { mode: 'SINGLE_NODE_WRITER' } },
  { mount: { fsType: 'xfs' }, accessMode: { mode: 'SINGLE_NODE_MULTI_WRITER' } },
  { mount: {}, accessMode: { mode: 'SINGLE_NODE_READER_ONLY' } },
  { block: {}, accessMode: { mode: 'SINGLE_NODE_WRITER' } },
  { block: {}, accessMode: { mode: 'MULTI_NODE_MULTI_WRITER' } },
);
const validSize = fc.constantFrom(16 * MiB, 64 * MiB, 100 * MiB).map(String);
const sub = fc.constantFrom('stage', 'pub1', 'pub2');
const ctx = { volumeId: fc.constant('{V}'), volumeContext: fc.constant('{CTX}'), volumeCapability: validCap };
const VALID: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  CreateVolume: fc.record({ name: uuidName, capacityRange: fc.record({ requiredBytes: validSize }), volumeCapabilities: fc.tuple(validCap) }),
  DeleteVolume: fc.record({ volumeId: fc.constant('{V}') }),
  ControllerPublishVolume: fc.record({ ...ctx, nodeId: fc.constant('node-a'), readonly: fc.boolean() }),
  ControllerUnpublishVolume: fc.record({ volumeId: fc.constant('{V}'), nodeId: fc.constant('node-a') }),
  ControllerExpandVolume: fc.record({
    volumeId: fc.constant('{V}'),
    capacityRange: fc.record({ requiredBytes: fc.constantFrom(String(128 * MiB), String(256 * MiB)) }),
  }),
  CreateSnapshot: fc.record({ sourceVolumeId: fc.constant('{V}'), name: fc.constantFrom('snap-1', 'snap-2') }),
  NodeStageVolume: fc.record({ ...ctx, stagingTargetPath: fc.constant('{KV}/stage') }),
  NodeUnstageVolume: fc.record({ volumeId: fc.constant('{V}'), stagingTargetPath: fc.constant('{KV}/stage') }),
  NodePublishVolume: fc.record({
    ...ctx,
    stagingTargetPath: fc.constant('{KV}/stage'),
    targetPath: sub.map((p) => `{KV}/${p}`),
    readonly: fc.boolean(),
  }),
  NodeUnpublishVolume: fc.record({ volumeId: fc.constant('{V}'), targetPath: sub.map((p) => `{KV}/${p}`) }),
  NodeGetVolumeStats: fc.record({ volumeId: fc.constant('{V}'), volumePath: sub.map((p) => `{KV}/${p}`) }),
  NodeExpandVolume: fc.record({
    volumeId: fc.constant('{V}'),
    volumePath: sub.map((p) => `{KV}/${p}`),
    capacityRange: fc.record({ requiredBytes: fc.constantFrom(String(128 * MiB), String(256 * MiB)) }),
  }),
};

const RPCS: Array<[Service, string, fc.Arbitrary<Record<string, unknown>>]> = [
  ['Identity', 'GetPluginInfo', fc.constant({})],
  ['Identity', 'GetPluginCapabilities', fc.constant({})],
  ['Identity', 'Probe', fc.constant({})],
  [
    'Controller',
    'CreateVolume',
    opt(
      {
        name,
        capacityRange,
        volumeCapabilities: capabilities,
        parameters: mapOf,
        secrets,
        volumeContentSource: contentSource,
        accessibilityRequirements: topology,
        mutableParameters: mapOf,
      },
      ['name', 'volumeCapabilities'],
    ),
  ],
  ['Controller', 'DeleteVolume', opt({ volumeId, secrets }, ['volumeId'])],
  [
    'Controller',
    'ControllerPublishVolume',
    opt({ volumeId, nodeId, volumeCapability: capability, readonly: fc.boolean(), secrets, volumeContext }, [
      'volumeId',
      'nodeId',
      'volumeCapability',
    ]),
  ],
  ['Controller', 'ControllerUnpublishVolume', opt({ volumeId, nodeId, secrets }, ['volumeId'])],
  [
    'Controller',
    'ValidateVolumeCapabilities',
    opt({ volumeId: anyVolumeId, volumeContext, volumeCapabilities: capabilities, parameters: mapOf, secrets, mutableParameters: mapOf }, [
      'volumeId',
    ]),
  ],
  ['Controller', 'ListVolumes', opt({ maxEntries, startingToken: token })],
  [
    'Controller',
    'GetCapacity',
    opt({ volumeCapabilities: capabilities, parameters: mapOf, accessibleTopology: fc.record({ segments: mapOf }), minimumVolumeSize: size }),
  ],
  ['Controller', 'ControllerGetCapabilities', fc.constant({})],
  ['Controller', 'CreateSnapshot', opt({ sourceVolumeId: anyVolumeId, name, secrets, parameters: mapOf }, ['sourceVolumeId', 'name'])],
  ['Controller', 'DeleteSnapshot', opt({ snapshotId, secrets }, ['snapshotId'])],
  ['Controller', 'ListSnapshots', opt({ maxEntries, startingToken: token, sourceVolumeId: anyVolumeId, snapshotId, secrets })],
  ['Controller', 'GetSnapshot', opt({ snapshotId, secrets }, ['snapshotId'])],
  ['Controller', 'ControllerExpandVolume', opt({ volumeId, capacityRange, secrets, volumeCapability: capability }, ['volumeId', 'capacityRange'])],
  ['Controller', 'ControllerGetVolume', opt({ volumeId: anyVolumeId }, ['volumeId'])],
  ['Controller', 'ControllerModifyVolume', opt({ volumeId, secrets, mutableParameters: mapOf }, ['volumeId'])],
  ['GroupController', 'GroupControllerGetCapabilities', fc.constant({})],
  [
    'GroupController',
    'CreateVolumeGroupSnapshot',
    opt({ name, sourceVolumeIds: fc.array(anyVolumeId, { maxLength: 2 }), secrets, parameters: mapOf }),
  ],
  [
    'Node',
    'NodeStageVolume',
    opt({ volumeId, publishContext: mapOf, stagingTargetPath: path, volumeCapability: capability, secrets, volumeContext }, [
      'volumeId',
      'stagingTargetPath',
      'volumeCapability',
      'volumeContext',
    ]),
  ],
  ['Node', 'NodeUnstageVolume', opt({ volumeId, stagingTargetPath: path }, ['volumeId', 'stagingTargetPath'])],
  [
    'Node',
    'NodePublishVolume',
    opt(
      {
        volumeId,
        publishContext: mapOf,
        stagingTargetPath: path,
        targetPath: path,
        volumeCapability: capability,
        readonly: fc.boolean(),
        secrets,
        volumeContext,
      },
      ['volumeId', 'stagingTargetPath', 'targetPath', 'volumeCapability', 'volumeContext'],
    ),
  ],
  ['Node', 'NodeUnpublishVolume', opt({ volumeId, targetPath: path }, ['volumeId', 'targetPath'])],
  ['Node', 'NodeGetVolumeStats', opt({ volumeId: anyVolumeId, volumePath: path, stagingTargetPath: path }, ['volumeId', 'volumePath'])],
  [
    'Node',
    'NodeExpandVolume',
    opt({ volumeId, volumePath: path, capacityRange, stagingTargetPath: path, volumeCapability: capability, secrets }, ['volumeId', 'volumePath']),
  ],
  ['Node', 'NodeGetCapabilities', fc.constant({})],
  ['Node', 'NodeGetInfo', fc.constant({})],
];

/** One request of any RPC; the mutating ones (create, stage, publish and their undo) weigh more. */
export const planArb: fc.Arbitrary<Plan> = fc.oneof(
  ...RPCS.map(([service, rpc, req]) => ({
    weight: /Stage|Publish|Unpublish|CreateVolume|DeleteVolume|Expand/.test(rpc) ? 4 : 1,
    arbitrary: fc.record({
      service: fc.constant(service),
      rpc: fc.constant(rpc),
      pick: fc.nat(),
      req: VALID[rpc] ? fc.oneof(req, { arbitrary: VALID[rpc], weight: 2 }) : req,
    }),
  })),
);
