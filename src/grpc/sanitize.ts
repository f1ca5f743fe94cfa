/**
 * Copies a request for logging: without its secrets, and bounded in size. CSI marks secret fields with the
 * csi_secret option; in v1.12 every one of them is a map named `secrets` (CreateVolume, DeleteVolume, Publish,
 * Stage, Expand, snapshots…), so every key named `secrets` is replaced at any depth. A request is whatever a caller
 * sent (a 4 MiB volume_id, a million-entry parameters map): long strings, arrays and maps are cut to a prefix
 * that says how much there was, so one RPC is one log line of bounded size.
 */
export const LOG_LIMITS = { stringChars: 256, items: 32, depth: 8 } as const;

/** The first 256 characters and the full size: `abc…(4194304 bytes)`. */
export function truncateForLog(s: string, max: number = LOG_LIMITS.stringChars): string {
  if (s.length <= max) return s;
  let head = s.slice(0, max);
  if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1); // never split a surrogate pair
  return `${head}…(${Buffer.byteLength(s)} bytes)`;
}

export function stripSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return truncateForLog(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > LOG_LIMITS.depth) return '[…deeper]';
  if (value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
  if (Array.isArray(value)) {
    const out = value.slice(0, LOG_LIMITS.items).map((v) => stripSecrets(v, depth + 1));
    if (value.length > LOG_LIMITS.items) out.push(`…(${value.length} items)`);
    return out;
  }
  const out: Record<string, unknown> = {};
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [k, v] of entries.slice(0, LOG_LIMITS.items)) {
    if (k === 'secrets') {
      const n = v && typeof v === 'object' ? Object.keys(v).length : 0;
      if (n > 0) out[k] = `[${n} redacted]`;
    } else {
      out[truncateForLog(k)] = stripSecrets(v, depth + 1);
    }
  }
  if (entries.length > LOG_LIMITS.items) out['…'] = `(${entries.length} keys)`;
  return out;
}
