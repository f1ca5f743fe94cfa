import { status } from '@grpc/grpc-js';
import { MOUNT_RWO, codeOf } from '../support/csi-client';
import { startHarness, type Harness } from '../support/controller-harness';
import { encryptionMismatch } from '../../src/domain/encryption';

/**
 * Encryption at rest, controller side (issue 15 item 2): the `encryption` StorageClass parameter is validated at
 * CreateVolume and echoed in volume_context for the node; a restore or clone copies the LUKS2 header with the file,
 * so its StorageClass must say the same as its source's (refused otherwise, domain/encryption.ts says why).
 */
const MiB = 1024 * 1024;
const ENC = { encryption: 'luks2' };

describe('encryption parameter', () => {
  let h: Harness;
  const create = (name: string, parameters: Record<string, string> = {}, extra: object = {}) =>
    h.client.ctl(
      'CreateVolume',
      { name, capacityRange: { requiredBytes: String(8 * MiB) }, volumeCapabilities: [MOUNT_RWO], parameters, ...extra },
      20000,
    );
  const fromVolume = (volumeId: string) => ({ volumeContentSource: { volume: { volumeId } } });
  const fromSnapshot = (snapshotId: string) => ({ volumeContentSource: { snapshot: { snapshotId } } });

  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.stop();
  });

  it('carries encryption: luks2 in volume_context and refuses any other value with INVALID_ARGUMENT', async () => {
    const v = (await create('enc-a', ENC)).volume;
    expect(v.volumeContext).toMatchObject({ encryption: 'luks2' });
    const plain = (await create('enc-plain')).volume;
    expect(plain.volumeContext.encryption).toBeUndefined();
    for (const bad of ['luks1', 'LUKS2', 'yes', 'aes']) {
      const err = await codeOf(create(`enc-bad-${bad.toLowerCase()}`, { encryption: bad }));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/encryption.*must be luks2/);
    }
  });

  it.each([
    ['clone of an encrypted volume without the parameter', 'enc-src', {}, status.INVALID_ARGUMENT, /source volume is encrypted/],
    ['clone of an encrypted volume with it', 'enc-src', ENC, status.OK, undefined],
    ['clone of a plain volume with it', 'plain-src', ENC, status.INVALID_ARGUMENT, /source volume is not encrypted/],
    ['clone of a plain volume without it', 'plain-src', {}, status.OK, undefined],
  ])('%s', async (_what, srcName, params, code, message) => {
    const src = (await create(srcName, srcName.startsWith('enc') ? ENC : {})).volume;
    const name = `clone-${_what.replace(/\W+/g, '-')}`;
    if (code === status.OK) {
      const res = (await create(name, params, fromVolume(src.volumeId))) as { volume: { volumeContext: Record<string, string> } };
      expect(res.volume.volumeContext.encryption).toBe((params as Record<string, string>).encryption);
    } else {
      const err = await codeOf(create(name, params, fromVolume(src.volumeId)));
      expect(err.code).toBe(code);
      expect(err.details).toMatch(message as RegExp);
    }
  });

  it('a snapshot remembers its source was encrypted: a restore must ask for encryption too, even after the source is gone', async () => {
    const src = (await create('enc-snap-src', ENC)).volume;
    const snap = (await h.client.ctl('CreateSnapshot', { name: 'enc-snap', sourceVolumeId: src.volumeId }, 20000)).snapshot;
    await h.client.ctl('DeleteVolume', { volumeId: src.volumeId }, 20000);
    const refused = await codeOf(create('enc-restore-plain', {}, fromSnapshot(snap.snapshotId)));
    expect(refused.code).toBe(status.INVALID_ARGUMENT);
    expect(refused.details).toMatch(/source snapshot is encrypted/);
    const restored = (await create('enc-restore', ENC, fromSnapshot(snap.snapshotId))).volume;
    expect(restored.volumeContext.encryption).toBe('luks2');
    const plainSnap = (
      await h.client.ctl('CreateSnapshot', { name: 'plain-snap', sourceVolumeId: (await create('plain-snap-src')).volume.volumeId }, 20000)
    ).snapshot;
    const wrong = await codeOf(create('enc-from-plain-snap', ENC, fromSnapshot(plainSnap.snapshotId)));
    expect(wrong.code).toBe(status.INVALID_ARGUMENT);
  });

  it.each([
    [undefined, undefined, false],
    ['luks2', 'luks2', false],
    ['luks2', undefined, true],
    [undefined, 'luks2', true],
    ['', undefined, false],
  ])('mismatch(wanted %s, source %s) = %s', (wanted, source, refused) => {
    expect(encryptionMismatch(wanted, source, 'volume') !== undefined).toBe(refused);
  });
});
