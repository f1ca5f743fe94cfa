import { status } from '@grpc/grpc-js';
import { codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';

/**
 * The controller's side of issue 15 items 4 and 7, over real gRPC, the queue on a real redis and the RouterOS
 * simulator: SINGLE_NODE_SINGLE_WRITER / SINGLE_NODE_MULTI_WRITER accepted wherever access modes are checked and
 * published to one node at a time (MULTI_NODE_MULTI_WRITER block keeps its two-node live migration), and the
 * StorageClass's mkfsOptions / mount options checked against the allow-lists at CreateVolume.
 */
const MiB = 1024 * 1024;
const capOf = (kind: 'mount' | 'block', mode: string, fsType = 'ext4', mountFlags: string[] = []): object =>
  kind === 'block' ? { block: {}, accessMode: { mode } } : { mount: { fsType, mountFlags }, accessMode: { mode } };

describe('controller: single-node writer modes and filesystem options', () => {
  let h: Harness;
  const create = (name: string, cap: object, parameters: Record<string, string> = {}) =>
    h.client.ctl('CreateVolume', { name, capacityRange: { requiredBytes: String(MiB) }, volumeCapabilities: [cap], parameters }, 20000);
  const publish = (volumeId: string, nodeId: string, cap: object) =>
    h.client.ctl('ControllerPublishVolume', { volumeId, nodeId, volumeCapability: cap, readonly: false }, 20000);

  beforeAll(async () => {
    h = await startHarness({ overrides: { nodes: 'n1,n2,n3', 'kubernetes.mode': 'off' } });
  });
  afterAll(async () => {
    await h.stop();
  });

  it('advertises SINGLE_NODE_MULTI_WRITER', async () => {
    const types = (await h.client.ctl('ControllerGetCapabilities')).capabilities.map((c: { rpc: { type: string } }) => c.rpc.type);
    expect(types).toContain('SINGLE_NODE_MULTI_WRITER');
  });

  /** [access type, mode, what a second node gets]. */
  const PUBLISH: Array<['mount' | 'block', string, 'refused' | 'migration']> = [
    ['mount', 'SINGLE_NODE_SINGLE_WRITER', 'refused'],
    ['mount', 'SINGLE_NODE_MULTI_WRITER', 'refused'],
    ['block', 'SINGLE_NODE_SINGLE_WRITER', 'refused'],
    ['block', 'SINGLE_NODE_MULTI_WRITER', 'refused'],
    ['block', 'MULTI_NODE_MULTI_WRITER', 'migration'], // KubeVirt live migration: unchanged
  ];
  it.each(PUBLISH)('%s %s: CreateVolume, ValidateVolumeCapabilities, publish twice to n1; n2 is %s', async (kind, mode, second) => {
    const cap = capOf(kind, mode);
    const vol = (await create(`sw-${kind}-${mode.toLowerCase()}`, cap)).volume.volumeId as string;
    const valid = await h.client.ctl('ValidateVolumeCapabilities', { volumeId: vol, volumeCapabilities: [cap] });
    expect(valid.confirmed?.volumeCapabilities?.[0]?.accessMode?.mode).toBe(mode);
    const first = await publish(vol, 'n1', cap);
    expect((await publish(vol, 'n1', cap)).publishContext).toEqual(first.publishContext); // idempotent
    const other = await codeOf(publish(vol, 'n2', cap));
    if (second === 'refused') {
      expect(other.code).toBe(status.FAILED_PRECONDITION);
      expect(other.details).toMatch(/published to node n1/);
      expect((await h.client.ctl('ControllerGetVolume', { volumeId: vol })).status.publishedNodeIds).toEqual(['n1']);
    } else {
      expect(other.code).toBeUndefined();
      expect((await h.client.ctl('ControllerGetVolume', { volumeId: vol })).status.publishedNodeIds.sort()).toEqual(['n1', 'n2']);
      await h.client.ctl('ControllerUnpublishVolume', { volumeId: vol, nodeId: 'n2' }, 20000);
    }
    await h.client.ctl('ControllerUnpublishVolume', { volumeId: vol, nodeId: 'n1' }, 20000);
    expect((await publish(vol, 'n2', cap)).publishContext).toEqual(first.publishContext); // free again: the other node may have it
    await h.client.ctl('ControllerUnpublishVolume', { volumeId: vol, nodeId: 'n2' }, 20000);
  });

  /** [name, capability, parameters, volume_context.mkfsOptions]. */
  const ACCEPTED: Array<[string, object, Record<string, string>, string | undefined]> = [
    ['ext4 -m 0', capOf('mount', 'SINGLE_NODE_MULTI_WRITER'), { mkfsOptions: '-m 0' }, '-m 0'],
    [
      'ext4 features and extended options',
      capOf('mount', 'SINGLE_NODE_WRITER'),
      { mkfsOptions: '-O metadata_csum,fast_commit -E lazy_itable_init=0,discard' },
      '-O metadata_csum,fast_commit -E lazy_itable_init=0,discard',
    ],
    ['unset fs_type is ext4', capOf('mount', 'SINGLE_NODE_WRITER', ''), { mkfsOptions: '-i 65536 -T largefile' }, '-i 65536 -T largefile'],
    [
      'xfs -i size=512 -m reflink=1',
      capOf('mount', 'SINGLE_NODE_WRITER', 'xfs'),
      { mkfsOptions: '-i size=512 -m reflink=1,bigtime=1 -K' },
      '-i size=512 -m reflink=1,bigtime=1 -K',
    ],
    ['allowed mount flags', capOf('mount', 'SINGLE_NODE_WRITER', 'ext4', ['noatime', 'nodiratime,discard', 'commit=30']), {}, undefined],
    ['no mkfsOptions', capOf('mount', 'SINGLE_NODE_WRITER'), {}, undefined],
  ];
  it.each(ACCEPTED)('CreateVolume accepts %s and carries mkfsOptions to the node in volume_context', async (name, cap, parameters, carried) => {
    const vol = (await create(`ok-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`, cap, parameters)).volume;
    expect(vol.volumeContext.mkfsOptions).toBe(carried);
  });

  /** [name, capability, parameters, message]. */
  const REFUSED: Array<[string, object, Record<string, string>, RegExp]> = [
    ['force -F', capOf('mount', 'SINGLE_NODE_WRITER'), { mkfsOptions: '-F' }, /mkfsOptions="-F" option "-F" is not allowed for ext4/],
    ['force -f (xfs)', capOf('mount', 'SINGLE_NODE_WRITER', 'xfs'), { mkfsOptions: '-f' }, /option "-f" is not allowed for xfs/],
    ['a device', capOf('mount', 'SINGLE_NODE_WRITER'), { mkfsOptions: '/dev/sda' }, /option "\/dev\/sda" is not allowed/],
    ['a label', capOf('mount', 'SINGLE_NODE_WRITER'), { mkfsOptions: '-L data' }, /option "-L" is not allowed/],
    ['an ext4 option checked as xfs', capOf('mount', 'SINGLE_NODE_WRITER', 'xfs'), { mkfsOptions: '-m 0' }, /-m key "0" is not allowed/],
    [
      'an xfs option checked as ext4 (fs_type unset)',
      capOf('mount', 'SINGLE_NODE_WRITER', ''),
      { mkfsOptions: '-i size=512' },
      /-i size=512 is not an allowed value/,
    ],
    ['a feature off', capOf('mount', 'SINGLE_NODE_WRITER'), { mkfsOptions: '-O ^has_journal' }, /-O feature "\^has_journal" is not allowed/],
    [
      'a value with a shell metacharacter',
      capOf('mount', 'SINGLE_NODE_WRITER'),
      { mkfsOptions: '-m $(reboot)' },
      /-m \$\(reboot\) is not an allowed value/,
    ],
    ['mkfsOptions on a block volume', capOf('block', 'SINGLE_NODE_WRITER'), { mkfsOptions: '-m 0' }, /applies to filesystem volumes only/],
    ['too long', capOf('mount', 'SINGLE_NODE_WRITER'), { mkfsOptions: '-m 0 '.repeat(200) }, /longer than 512/],
    ['mount flag bind', capOf('mount', 'SINGLE_NODE_WRITER', 'ext4', ['bind']), {}, /mount_flags: mount flag bind is not allowed/],
    ['mount flag remount after a comma', capOf('mount', 'SINGLE_NODE_WRITER', 'ext4', ['noatime,remount']), {}, /mount flag remount is not allowed/],
    ['mount flag nobarrier', capOf('mount', 'SINGLE_NODE_WRITER', 'ext4', ['nobarrier']), {}, /mount flag nobarrier is not allowed/],
    ['mount flag with a space', capOf('mount', 'SINGLE_NODE_WRITER', 'ext4', ['noatime exec']), {}, /characters that are not allowed/],
  ];
  it.each(REFUSED)('CreateVolume refuses %s with INVALID_ARGUMENT naming it', async (name, cap, parameters, message) => {
    const r = await codeOf(create(`bad-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`, cap, parameters));
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.details).toMatch(message);
  });

  it('ValidateVolumeCapabilities does not confirm a refused mount flag', async () => {
    const vol = (await create('vvc-flags', capOf('mount', 'SINGLE_NODE_WRITER'))).volume.volumeId as string;
    const r = await h.client.ctl('ValidateVolumeCapabilities', {
      volumeId: vol,
      volumeCapabilities: [capOf('mount', 'SINGLE_NODE_WRITER', 'ext4', ['remount'])],
    });
    expect(r.confirmed).toBeFalsy();
    expect(r.message).toMatch(/mount flag remount is not allowed/);
  });
});
