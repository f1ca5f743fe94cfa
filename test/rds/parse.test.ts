import { parseFile, type Row } from '../../src/rds/parse';
import type { RdsFile } from '../../src/rds/port';

/**
 * `/file print` rows as RouterOS sends them over the API (bare byte counts). The disk-root and directory rows follow
 * MikroTik's Files page, RouterOS 7.16.1 (help.mikrotik.com/docs/spaces/ROS/pages/2555971/Files):
 * `name=flash type=disk`, `name=flash/skins type=directory` (no size), `name=flash/filename type=file size=0`.
 */
const cases: Array<[string, Row, RdsFile | undefined]> = [
  ['disk root (pool mount point), no size', { '.id': '*1', name: 'pool', type: 'disk' }, undefined],
  ['disk root with last-modified only', { '.id': '*2', name: 'flash', type: 'disk', 'last-modified': '2024-11-25 13:12:10' }, undefined],
  ['directory without size', { '.id': '*3', name: 'pool/rds-csi', type: 'directory' }, undefined],
  ['directory with a size', { '.id': '*4', name: 'pool/d', type: 'directory', size: '4096' }, undefined],
  ['disk root with an empty size', { '.id': '*5', name: 'raid10', type: 'disk', size: '' }, undefined],
  ['unknown type without size', { '.id': '*6', name: 'pool/x', type: 'socket' }, undefined],
  ['no type, no size', { '.id': '*7', name: 'pool/y' }, undefined],
  [
    '.img file',
    { '.id': '*8', name: 'pool/rds-csi/pvc-1.img', type: '.img file', size: '1073741824' },
    { id: '*8', name: 'pool/rds-csi/pvc-1.img', type: '.img file', sizeBytes: 1073741824 },
  ],
  [
    'file without extension, size 0',
    { '.id': '*9', name: 'flash/filename', type: 'file', size: '0' },
    { id: '*9', name: 'flash/filename', type: 'file', sizeBytes: 0 },
  ],
  [
    'package with size',
    { '.id': '*A', name: 'routeros-7.16.1-arm.npk', type: 'package', size: '11635712' },
    { id: '*A', name: 'routeros-7.16.1-arm.npk', type: 'package', sizeBytes: 11635712 },
  ],
];

describe('parseFile', () => {
  it.each(cases)('%s', (_name, row, expected) => {
    expect(parseFile(row)).toEqual(expected);
  });

  it.each<[string, Row]>([
    ['a file with a CLI-formatted size', { '.id': '*B', name: 'pool/a.img', type: '.img file', size: '1.0GiB' }],
    ['a file with a negative size', { '.id': '*C', name: 'pool/b.img', type: '.img file', size: '-1' }],
    ['a file without id', { name: 'pool/c.img', type: '.img file', size: '1' }],
  ])('refuses %s: the driver may act on that file', (_name, row) => {
    expect(() => parseFile(row)).toThrow(expect.objectContaining({ kind: 'internal' }) as Error);
  });
});
