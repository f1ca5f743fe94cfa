/**
 * Strict parsing of RouterOS API values (all strings on the wire). A malformed value from RDS is an error, never NaN.
 */
import type { RdsDisk, RdsFile, PoolCapacity } from './port';
import { RdsError } from './errors';

export type Row = Record<string, string>;

function bad(what: string, value: unknown, row: Row): RdsError {
  return new RdsError(
    'internal',
    `RDS returned an unusable ${what}: ${JSON.stringify(value)} in ${JSON.stringify(row)}; the RouterOS version may not be supported`,
  );
}

export function required(row: Row, key: string): string {
  const value = row[key];
  if (typeof value !== 'string' || value === '') throw bad(key, value, row);
  return value;
}

/** Non-negative integer in bytes or a port: bare decimal digits only, exact as a JS number. */
export function parseCount(row: Row, key: string): number {
  const raw = required(row, key);
  if (!/^\d+$/.test(raw)) throw bad(key, raw, row);
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw bad(key, raw, row);
  return n;
}

export function parseBool(row: Row, key: string): boolean {
  const raw = row[key];
  if (raw === 'true' || raw === 'yes') return true;
  if (raw === 'false' || raw === 'no' || raw === undefined) return false;
  throw bad(key, raw, row);
}

function optional(row: Row, key: string): string | undefined {
  const v = row[key];
  return v === undefined || v === '' ? undefined : v;
}

export const DISK_PROPLIST = [
  '.id',
  'slot',
  'type',
  'file-path',
  'file-size',
  'nvme-tcp-export',
  'nvme-tcp-server-port',
  'nvme-tcp-server-nqn',
  'nvme-tcp-server-allow-host-name',
  'comment',
].join(',');

export function parseDisk(row: Row): RdsDisk {
  const disk: RdsDisk = {
    id: required(row, '.id'),
    slot: required(row, 'slot'),
    filePath: required(row, 'file-path'),
    fileSizeBytes: parseCount(row, 'file-size'),
    nvmeTcpExport: parseBool(row, 'nvme-tcp-export'),
  };
  if (optional(row, 'nvme-tcp-server-port') !== undefined) disk.nvmeTcpPort = parseCount(row, 'nvme-tcp-server-port');
  const nqn = optional(row, 'nvme-tcp-server-nqn');
  if (nqn !== undefined) disk.nvmeTcpNqn = nqn;
  const allow = row['nvme-tcp-server-allow-host-name'];
  if (allow !== undefined) disk.allowHostName = allow;
  const comment = optional(row, 'comment');
  if (comment !== undefined) disk.comment = comment;
  return disk;
}

export const FILE_PROPLIST = '.id,name,type,size';

/**
 * A `/file` row the driver can use: a file with a size. Rows the driver never needs are skipped (undefined), never
 * fatal: disk roots (`type=disk` with no `size`: MikroTik's Files page, RouterOS 7.16.1 capture `name=flash
 * type=disk`, help.mikrotik.com/docs/spaces/ROS/pages/2555971/Files; the RDS pool's mount point is listed the same
 * way), directories (`type=directory`, no `size`, same page) and anything else without a size. A file row whose size
 * is present but malformed is still an error: the driver may act on that file.
 */
export function parseFile(row: Row): RdsFile | undefined {
  const type = row.type ?? '';
  if (type === 'disk' || type === 'directory' || row.size === undefined || row.size === '') return undefined;
  return { id: required(row, '.id'), name: required(row, 'name'), sizeBytes: parseCount(row, 'size'), type };
}

export function parseCapacity(row: Row): PoolCapacity {
  const sizeBytes = parseCount(row, 'size');
  const freeBytes = parseCount(row, 'free');
  if (freeBytes > sizeBytes) throw bad('free (larger than size)', row.free, row);
  return { sizeBytes, freeBytes };
}
