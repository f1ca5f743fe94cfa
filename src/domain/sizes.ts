/**
 * Capacity rules for CreateVolume. RDS takes exact bytes; the driver keeps sizes whole 4 KiB blocks (the NVMe
 * namespace block size), rounding a request *up* and returning the real size, never down.
 */
export const BLOCK = 4096;

export interface CapacityLimits {
  minBytes: number;
  maxBytes: number;
  defaultBytes: number;
}

export type SizeDecision = { ok: true; bytes: number } | { ok: false; code: 'INVALID_ARGUMENT' | 'OUT_OF_RANGE'; message: string };

export function roundUp(bytes: number): number {
  return Math.ceil(bytes / BLOCK) * BLOCK;
}

function fmt(n: number): string {
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
    return { ok: false, code: 'OUT_OF_RANGE', message: `limit ${fmt(limit)} is below the minimum volume size ${fmt(lim.minBytes)}` };
  }
  let bytes = required > 0 ? required : Math.min(lim.defaultBytes, limit > 0 ? limit : lim.defaultBytes);
  bytes = roundUp(Math.max(bytes, lim.minBytes));
  if (bytes > lim.maxBytes) bytes = Math.floor(lim.maxBytes / BLOCK) * BLOCK;
  if (limit > 0 && bytes > limit) {
    return { ok: false, code: 'OUT_OF_RANGE', message: `no size that is a multiple of ${BLOCK} bytes fits between ${required} and ${limit} bytes` };
  }
  return { ok: true, bytes };
}
