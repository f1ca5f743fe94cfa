/**
 * Capacity rules for CreateVolume. RDS takes exact bytes; the driver keeps sizes whole 4 KiB blocks (the NVMe
 * namespace block size), rounding a request *up* and returning the real size, never down.
 */
export const BLOCK = 4096;

export interface CapacityLimits {
  minBytes: number;
  maxBytes: number;
  defaultBytes: number;
  /** Why minBytes is what it is, when it is raised above the configured minimum (e.g. by the file system). */
  minReason?: string;
}

export type SizeDecision = { ok: true; bytes: number } | { ok: false; code: 'INVALID_ARGUMENT' | 'OUT_OF_RANGE'; message: string };

/**
 * The smallest device each file system the driver makes can be made on. mkfs.xfs refuses data sections under 300 MiB
 * since xfsprogs 5.19 ("Filesystem must be larger than 300MB."; linux-xfs, "xfs/109: handle larger minimum
 * filesystem size", June 2022). Measured with xfsprogs 6.1.0: 314572800 bytes is formatted, 314572799 refused. ext4
 * has no minimum that matters here (mkfs.ext4 makes a file system on the smallest volume, 4 KiB blocks × a few).
 */
export const FS_MIN_BYTES: Readonly<Record<string, number>> = { xfs: 300 * 1024 * 1024 };

/** Minimum size for a volume formatted with fsType ('' = the default, ext4): 0 when there is none. */
export function fsMinimumBytes(fsType: string): number {
  return FS_MIN_BYTES[fsType] ?? 0;
}

export function roundUp(bytes: number): number {
  return Math.ceil(bytes / BLOCK) * BLOCK;
}

export function fmt(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1 && v % 1024 === 0) {
    v /= 1024;
    i++;
  }
  return `${v} ${units[i]}`;
}

/** required/limit are 0 when unset (CSI semantics). */
export function decideSize(required: number, limit: number, lim: CapacityLimits): SizeDecision {
  if (required < 0 || limit < 0) return { ok: false, code: 'INVALID_ARGUMENT', message: 'capacity_range values must not be negative' };
  if (limit > 0 && required > limit) {
    return { ok: false, code: 'INVALID_ARGUMENT', message: `capacity_range.required_bytes (${required}) exceeds limit_bytes (${limit})` };
  }
  if (required > lim.maxBytes) {
    return { ok: false, code: 'OUT_OF_RANGE', message: `requested ${fmt(required)} exceeds the maximum volume size ${fmt(lim.maxBytes)}` };
  }
  if (limit > 0 && limit < lim.minBytes) {
    return {
      ok: false,
      code: 'OUT_OF_RANGE',
      message: `limit ${fmt(limit)} is below the minimum volume size ${fmt(lim.minBytes)}${lim.minReason ? ` (${lim.minReason})` : ''}`,
    };
  }
  let bytes = required > 0 ? required : Math.min(lim.defaultBytes, limit > 0 ? limit : lim.defaultBytes);
  bytes = roundUp(Math.max(bytes, lim.minBytes));
  if (bytes > lim.maxBytes) bytes = Math.floor(lim.maxBytes / BLOCK) * BLOCK;
  if (limit > 0 && bytes > limit) {
    return { ok: false, code: 'OUT_OF_RANGE', message: `no size that is a multiple of ${BLOCK} bytes fits between ${required} and ${limit} bytes` };
  }
  return { ok: true, bytes };
}
