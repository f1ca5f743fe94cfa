/**
 * Encryption at rest (issue 15 item 2): the StorageClass parameter the controller validates and echoes in
 * volume_context, where the node reads it (src/node/crypt.ts). One rule for both sides.
 */
export const ENCRYPTION_PARAM = 'encryption';
export const ENCRYPTION_VALUES = ['luks2'] as const;
export type Encryption = (typeof ENCRYPTION_VALUES)[number];

/** The problem with an `encryption` value, or undefined. */
export function encryptionProblem(v: string): string | undefined {
  return (ENCRYPTION_VALUES as readonly string[]).includes(v) ? undefined : `must be ${ENCRYPTION_VALUES.join(' or ')}`;
}

/**
 * A restore or clone copies the source's file, LUKS2 header included: it is encrypted exactly when its source is, with
 * the same key. So its StorageClass must say the same as the source's — refused otherwise rather than carried over
 * silently, because the node-stage secret that holds the key is also named only by the StorageClass: a class without
 * `encryption` has none, and its volume could never be opened; a class with it over a plain source would find a file
 * system where it expects a LUKS header and refuse to stage. Undefined when they agree, else the reason.
 */
export function encryptionMismatch(wanted: string | undefined, source: string | undefined, what: string): string | undefined {
  if ((wanted || undefined) === (source || undefined)) return undefined;
  return source
    ? `the source ${what} is encrypted (${ENCRYPTION_PARAM}: ${source}) and a copy keeps its LUKS2 header: use a StorageClass with ${ENCRYPTION_PARAM}: ${source} and the same node-stage secret`
    : `the source ${what} is not encrypted, so a copy of it holds no LUKS2 header: use a StorageClass without ${ENCRYPTION_PARAM}`;
}
