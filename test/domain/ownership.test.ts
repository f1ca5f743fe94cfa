import { encodeOwner, MAX_OWNER_COMMENT, ownershipOf, parseOwner, pvcPart, type DiskOwner } from '../../src/domain/ownership';

/** Issue 15 item 3: the ownership comment, encoded and parsed (table-driven). */
const ME: DiskOwner = { driver: 'rds.csi.mikrotik.com', cluster: '7f3c2a9e-1b4d-4c8e-9a0f-2d6b8e1c5a73' };

describe('ownership comment', () => {
  const long253 = 'a'.repeat(253);
  const cases: [string, { namespace?: string; name?: string } | undefined, string][] = [
    ['no PVC', undefined, `rds-csi/v1;driver=rds.csi.mikrotik.com;cluster=${ME.cluster}`],
    [
      'a PVC',
      { namespace: 'default', name: 'data-postgres-0' },
      `rds-csi/v1;driver=rds.csi.mikrotik.com;cluster=${ME.cluster};pvc=default/data-postgres-0`,
    ],
    [
      'a dotted PVC name',
      { namespace: 'kube-system', name: 'a.b-c' },
      `rds-csi/v1;driver=rds.csi.mikrotik.com;cluster=${ME.cluster};pvc=kube-system/a.b-c`,
    ],
    [
      'the longest valid PVC',
      { namespace: 'n'.repeat(63), name: long253 },
      `rds-csi/v1;driver=rds.csi.mikrotik.com;cluster=${ME.cluster};pvc=${'n'.repeat(63)}/${long253}`,
    ],
    // Hostile or invalid names: the PVC part is left out, never escaped or truncated.
    ['a name with ";" and "="', { namespace: 'default', name: 'x;cluster=evil' }, `rds-csi/v1;driver=rds.csi.mikrotik.com;cluster=${ME.cluster}`],
    ['a name with "/"', { namespace: 'default', name: 'a/b' }, `rds-csi/v1;driver=rds.csi.mikrotik.com;cluster=${ME.cluster}`],
    ['a name with a newline', { namespace: 'default', name: 'a\nb' }, `rds-csi/v1;driver=rds.csi.mikrotik.com;cluster=${ME.cluster}`],
    ['upper case', { namespace: 'Default', name: 'Data' }, `rds-csi/v1;driver=rds.csi.mikrotik.com;cluster=${ME.cluster}`],
    ['a name too long (254)', { namespace: 'default', name: 'a'.repeat(254) }, `rds-csi/v1;driver=rds.csi.mikrotik.com;cluster=${ME.cluster}`],
    ['a namespace too long (64)', { namespace: 'n'.repeat(64), name: 'data' }, `rds-csi/v1;driver=rds.csi.mikrotik.com;cluster=${ME.cluster}`],
    ['a namespace with a dot', { namespace: 'a.b', name: 'data' }, `rds-csi/v1;driver=rds.csi.mikrotik.com;cluster=${ME.cluster}`],
    ['only a name', { name: 'data' }, `rds-csi/v1;driver=rds.csi.mikrotik.com;cluster=${ME.cluster}`],
  ];
  it.each(cases)('encodes %s, bounded, and parses back', (_what, pvc, comment) => {
    expect(encodeOwner(ME, pvc)).toBe(comment);
    expect(comment.length).toBeLessThanOrEqual(MAX_OWNER_COMMENT);
    expect(parseOwner(comment)).toEqual({
      ...ME,
      ...(pvcPart(pvc?.namespace, pvc?.name) ? { pvc: { namespace: pvc!.namespace, name: pvc!.name } } : {}),
    });
    expect(ownershipOf(comment, ME)).toBe('mine');
  });

  const owners: [string, string | undefined, ReturnType<typeof ownershipOf>][] = [
    ['no comment', undefined, 'none'],
    ['an empty comment', '', 'none'],
    ['this cluster', encodeOwner(ME), 'mine'],
    ['another cluster', encodeOwner({ ...ME, cluster: 'other-cluster' }, { namespace: 'default', name: 'x' }), 'other'],
    ['another driver name', encodeOwner({ ...ME, driver: 'other.csi.example.com' }), 'other'],
    ["an operator's note", 'do not touch: backup of db1', 'foreign'],
    ['an unknown version', `rds-csi/v2;driver=${ME.driver};cluster=${ME.cluster}`, 'foreign'],
    ['an unknown field', `rds-csi/v1;driver=${ME.driver};cluster=${ME.cluster};x=1`, 'foreign'],
    ['a duplicated field', `rds-csi/v1;driver=${ME.driver};cluster=other;cluster=${ME.cluster}`, 'foreign'],
    ['a missing cluster', `rds-csi/v1;driver=${ME.driver}`, 'foreign'],
    ['a malformed PVC', `rds-csi/v1;driver=${ME.driver};cluster=${ME.cluster};pvc=nope`, 'foreign'],
    ['a hostile PVC', `rds-csi/v1;driver=${ME.driver};cluster=${ME.cluster};pvc=a/b/../c`, 'foreign'],
    ['too long', `rds-csi/v1;driver=${ME.driver};cluster=${ME.cluster};pvc=default/${'a'.repeat(600)}`, 'foreign'],
  ];
  it.each(owners)('classifies %s', (_what, comment, want) => {
    expect(ownershipOf(comment, ME)).toBe(want);
  });

  it('refuses to encode an invalid cluster id or driver name', () => {
    expect(() => encodeOwner({ ...ME, cluster: 'Has Spaces' })).toThrow(/DNS-1123 label/);
    expect(() => encodeOwner({ ...ME, cluster: 'x;pvc=a/b' })).toThrow(/DNS-1123 label/);
    expect(() => encodeOwner({ ...ME, driver: 'x'.repeat(64) })).toThrow(/cannot name a disk's owner/);
  });
});
