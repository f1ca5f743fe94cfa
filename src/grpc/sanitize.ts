/**
 * Copies a request for logging without its secrets. CSI marks secret fields with the csi_secret option; in v1.12
 * every one of them is a map named `secrets` (CreateVolume, DeleteVolume, Publish, Stage, Expand, snapshots…),
 * so every key named `secrets` is replaced at any depth.
 */
export function stripSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => stripSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'secrets') {
      const n = v && typeof v === 'object' ? Object.keys(v).length : 0;
      if (n > 0) out[k] = `[${n} redacted]`;
    } else {
      out[k] = stripSecrets(v, depth + 1);
    }
  }
  return out;
}
