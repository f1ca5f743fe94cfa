import { readFileSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import { csiServiceDefinitions, type CsiServiceName, NODE_SERVICES, subsetPath } from '../../src/grpc/csi-services';
import { subsetText } from '../../src/grpc/csi-subset';
import { loadCsi } from '../../src/grpc/proto';

/**
 * Issue 14 item 4: the node plugin builds Identity and Node from proto/csi-identity-node.json with protobufjs/light
 * (src/grpc/csi-services.ts) instead of proto-loader. The committed descriptor must be what csi.proto gives, and every
 * method must turn bytes into objects and back exactly as proto-loader's definitions do (what handlers and clients
 * saw before): enums as names, int64 as strings, defaults filled in, oneofs named, maps, wrapper types.
 */
const light = csiServiceDefinitions(NODE_SERVICES);
const full = loadCsi().csi.v1;
const fullOf = { Identity: full.Identity.service, Node: full.Node.service } as Record<string, grpc.ServiceDefinition>;

const mountCap = { mount: { fsType: 'ext4', mountFlags: ['noatime'], volumeMountGroup: '' }, accessMode: { mode: 'SINGLE_NODE_WRITER' } };
const blockCap = { block: {}, accessMode: { mode: 5 } };
/** [service, method, request, response]: a filled-in request and response per method (empty ones check defaults). */
const SAMPLES: [CsiServiceName, string, object, object][] = [
  ['Identity', 'GetPluginInfo', {}, { name: 'rds.csi.mikrotik.com', vendorVersion: '1.2.3', manifest: { a: 'b' } }],
  ['Identity', 'GetPluginCapabilities', {}, { capabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }, { volumeExpansion: { type: 'ONLINE' } }] }],
  ['Identity', 'Probe', {}, { ready: { value: true } }],
  ['Identity', 'Probe', {}, {}],
  [
    'Node',
    'NodeStageVolume',
    {
      volumeId: 'pvc-1',
      publishContext: { k: 'v' },
      stagingTargetPath: '/s',
      volumeCapability: mountCap,
      secrets: { p: 'x' },
      volumeContext: { nqn: 'n' },
    },
    {},
  ],
  ['Node', 'NodeStageVolume', { volumeId: 'pvc-2', volumeCapability: blockCap }, {}],
  ['Node', 'NodeUnstageVolume', { volumeId: 'pvc-1', stagingTargetPath: '/s' }, {}],
  ['Node', 'NodePublishVolume', { volumeId: 'v', stagingTargetPath: '/s', targetPath: '/t', volumeCapability: mountCap, readonly: true }, {}],
  ['Node', 'NodeUnpublishVolume', { volumeId: 'v', targetPath: '/t' }, {}],
  [
    'Node',
    'NodeGetVolumeStats',
    { volumeId: 'v', volumePath: '/t', stagingTargetPath: '/s' },
    { usage: [{ available: '9007199254740993', total: 10, used: '1', unit: 'BYTES' }], volumeCondition: { abnormal: true, message: 'm' } },
  ],
  [
    'Node',
    'NodeExpandVolume',
    { volumeId: 'v', volumePath: '/t', capacityRange: { requiredBytes: '1073741824', limitBytes: 0 }, volumeCapability: blockCap },
    { capacityBytes: '42' },
  ],
  ['Node', 'NodeGetCapabilities', {}, { capabilities: [{ rpc: { type: 'STAGE_UNSTAGE_VOLUME' } }, { rpc: { type: 'GET_VOLUME_STATS' } }] }],
  [
    'Node',
    'NodeGetInfo',
    {},
    { nodeId: 'n1', maxVolumesPerNode: '16', accessibleTopology: { segments: { 'topology.rds.csi.mikrotik.com/backend': 'rds-1' } } },
  ],
];

describe('the node plugin service definitions from the precompiled descriptor', () => {
  it('proto/csi-identity-node.json is what proto/csi.proto gives (npm run gen:proto rewrites it)', () => {
    expect(readFileSync(subsetPath(NODE_SERVICES), 'utf8')).toBe(subsetText(NODE_SERVICES));
  });

  it.each(NODE_SERVICES)('%s has the methods and paths of proto-loader’s definition', (service) => {
    const strip = (d: grpc.ServiceDefinition): object =>
      Object.fromEntries(
        Object.entries(d).map(([k, m]) => [
          k,
          { path: m.path, requestStream: m.requestStream, responseStream: m.responseStream, originalName: m.originalName },
        ]),
      );
    expect(strip(light[service])).toEqual(strip(fullOf[service]));
  });

  it('every method has a sample below', () => {
    const covered = new Set(SAMPLES.map(([s, m]) => `${s}.${m}`));
    expect(NODE_SERVICES.flatMap((s) => Object.keys(light[s]).map((m) => `${s}.${m}`)).filter((m) => !covered.has(m))).toEqual([]);
  });

  it.each(SAMPLES)('%s.%s: same bytes and same objects as proto-loader', (service, method, req, res) => {
    const a = light[service][method];
    const b = fullOf[service][method];
    for (const [value, ser, serRef, de, deRef] of [
      [req, a.requestSerialize, b.requestSerialize, a.requestDeserialize, b.requestDeserialize],
      [res, a.responseSerialize, b.responseSerialize, a.responseDeserialize, b.responseDeserialize],
    ] as const) {
      const bytes = ser(value);
      expect(bytes).toEqual(serRef(value));
      expect(de(bytes)).toEqual(deRef(bytes));
    }
  });

  it('an array where a message belongs is refused like proto-loader refuses it', () => {
    expect(() => light.Node.NodeGetInfo.requestSerialize([])).toThrow(/expected object with NodeGetInfoRequest structure/);
  });
});
