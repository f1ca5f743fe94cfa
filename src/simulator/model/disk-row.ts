/** API rendering of `/disk` items (docs/ARCHITECTURE.md RouterOS §2.2, 2.4): booleans `true`/`false`, sizes in bare bytes. */
import type { Row } from '../query';
import { boolOut } from '../values';
import { iqnOf, nqnOf, POOL_ID } from './model';
import type { Capacity } from './pool';
import type { DiskRecord } from './state';

export function poolRow(name: string, fs: string, cap: Capacity, mounted = true): Row {
  const used = cap.size - cap.free;
  const use = cap.size > 0 ? Math.round((used * 100) / cap.size) : 0;
  if (!mounted) {
    // Not mounted: no mount-point, free or use (RouterOS §2.2: only on items with a mounted file system).
    return {
      '.id': POOL_ID,
      slot: name,
      'slot-default': '',
      parent: '',
      type: 'raid',
      model: 'RAID',
      fs,
      'mount-filesystem': 'true',
      'mount-read-only': 'false',
      mounted: 'false',
      'block-device': 'true',
      disabled: 'false',
      size: String(cap.size),
    };
  }
  return {
    '.id': POOL_ID,
    slot: name,
    'slot-default': '',
    parent: '',
    type: 'raid',
    model: 'RAID',
    fs,
    'mount-point': name,
    'mount-filesystem': 'true',
    'mount-read-only': 'false',
    mounted: 'true',
    'block-device': 'true',
    disabled: 'false',
    size: String(cap.size),
    free: String(cap.free),
    // The API form of `use` is unknown (docs/ARCHITECTURE.md RouterOS §2.4); the CLI shows `8%`.
    use: `${use}%`,
  };
}

export function diskRow(d: DiskRecord): Row {
  const row: Row = {
    '.id': d.id,
    slot: d.slot,
    'slot-default': '',
    parent: '',
    type: 'file',
    model: d.filePath,
    size: String(d.fileSize),
    'block-device': 'true',
    mounted: 'false',
    disabled: boolOut(d.disabled),
    formatting: 'false',
    'raid-member': 'false',
    partition: 'false',
    encrypted: 'false',
    'mount-filesystem': 'false',
    'mount-read-only': 'false',
    compress: 'false',
    'sector-size': '512',
    'raid-master': 'none',
    'nvme-tcp-export': boolOut(d.nvmeTcpExport),
    'nvme-tcp-server-port': String(d.nvmeTcpServerPort),
    'nvme-tcp-server-nqn': nqnOf(d),
    'nvme-tcp-server-allow-host-name': d.nvmeTcpServerAllowHostName,
    'iscsi-export': boolOut(d.iscsiExport),
    'iscsi-server-port': String(d.iscsiServerPort),
    'iscsi-server-iqn': iqnOf(d),
    'nfs-sharing': 'false',
    'smb-sharing': 'false',
    'media-sharing': 'false',
    'media-interface': 'none',
    swap: 'false',
    'file-path': d.filePath,
    'file-size': String(d.fileSize),
    'file-offset': String(d.fileOffset),
  };
  if (d.comment !== undefined) row.comment = d.comment;
  return row;
}
