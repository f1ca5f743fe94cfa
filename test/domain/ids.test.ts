import { backingFilePath, isSnapshotId, isUnder, isVolumeId, snapshotIdFromName, volumeIdFromName, volumeNameOf } from '../../src/domain/ids';

describe('volume ids', () => {
  it.each([
    ['pvc-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0', 'pvc-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0'],
    ['PVC-0B1C2D3E-4F50-6172-8394-A5B6C7D8E9F0', /^vol-pvc-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0-[0-9a-f]{12}$/],
    ['my_volume', /^vol-my-volume-[0-9a-f]{12}$/],
    ['my-volume', /^vol-my-volume-[0-9a-f]{12}$/],
    ['日本語', /^vol-[0-9a-f]{12}$/],
    ['x'.repeat(128), /^vol-x+-[0-9a-f]{12}$/],
  ])('%s → %s', (name, expected) => {
    const id = volumeIdFromName(name, '');
    if (typeof expected === 'string') expect(id).toBe(expected);
    else expect(id).toMatch(expected);
    expect(id.length).toBeLessThanOrEqual(63);
    expect(isVolumeId(id, '')).toBe(true);
    expect(isSnapshotId(id, '')).toBe(false);
  });

  it('is deterministic and keeps distinct names apart after sanitising', () => {
    expect(volumeIdFromName('a_b', '')).toBe(volumeIdFromName('a_b', ''));
    expect(volumeIdFromName('a_b', '')).not.toBe(volumeIdFromName('a-b', ''));
  });

  it('never accepts a snapshot id as a volume id or the reverse', () => {
    const snap = snapshotIdFromName('pvc-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0', '');
    expect(snap).toMatch(/^snap-/);
    expect(isVolumeId(snap, '')).toBe(false);
    expect(isSnapshotId(snap, '')).toBe(true);
  });

  it.each(['', 'Vol-x', 'vol_x', '../etc', 'vol-' + 'a'.repeat(70), 'other-thing'])('rejects %p as a volume id', (id) => {
    expect(isVolumeId(id, '')).toBe(false);
  });

  it('honours a volume prefix', () => {
    const id = volumeIdFromName('pvc-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0', 'k1-');
    expect(id.startsWith('k1-pvc-')).toBe(true);
    expect(isVolumeId(id, 'k1-')).toBe(true);
    expect(isVolumeId(id, '')).toBe(false);
  });

  it.each([
    ['', 'pvc-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0'],
    ['k1-', 'pvc-0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0'],
    ['', 'my-volume'],
    ['k1-', 'my-volume'],
  ])('recovers the CSI name from an id only where the id keeps it (prefix %p, name %p)', (prefix, name) => {
    const id = volumeIdFromName(name, prefix);
    expect(volumeNameOf(id, prefix)).toBe(name.startsWith('pvc-') ? name : '');
    expect(volumeNameOf(snapshotIdFromName(name, prefix), prefix)).toBe('');
  });
});

describe('paths under the base path (by components)', () => {
  it.each([
    ['/pool/rds-csi', '/pool/rds-csi/a.img', true],
    ['/pool/rds-csi', '/pool/rds-csi-other/a.img', false],
    ['/pool/rds-csi', '/pool/rds-csi/../x.img', false],
    ['/pool/rds-csi', '/pool/rds-csi', false],
    ['/pool/rds-csi', 'pool/rds-csi/a.img', false],
    ['/pool/rds-csi/', '/pool/rds-csi/sub/a.img', true],
  ])('%s contains %s: %s', (base, candidate, expected) => {
    expect(isUnder(base, candidate)).toBe(expected);
  });

  it('builds backing files under the base path', () => {
    expect(backingFilePath('/pool/rds-csi', 'pvc-1')).toBe('/pool/rds-csi/pvc-1.img');
  });
});
