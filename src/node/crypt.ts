import { createHash } from 'node:crypto';
import { splitId } from '../domain/backend-id';
import { ENCRYPTION_PARAM, type Encryption, encryptionProblem } from '../domain/encryption';
import { invalid } from '../domain/failure';
import type { HostPort } from '../host/port';
import { describeResult, ok, type ToolResult } from '../host/run';
import { HostError } from './connector';

/**
 * Encryption at rest (issue 15 item 2): the cryptsetup commands and the rules around them, nothing else. The
 * StorageClass parameter `encryption: luks2` reaches the node in volume_context; the passphrase is the
 * `encryptionPassphrase` key of the node-stage secret (NodeStageVolume `secrets`, and NodeExpandVolume's from the
 * node-expand secret). The key only ever travels on the tool's stdin (`--key-file -`, cryptsetup(8): "If the key
 * file is '-', stdin will be used"): never in argv (visible in /proc/<pid>/cmdline), never in a file, never in a
 * log line (the request logger drops every `secrets` map, src/grpc/sanitize.ts; error messages quote cryptsetup's
 * argv and stderr, which carry no key).
 */

export const PASSPHRASE_KEY = 'encryptionPassphrase';

/**
 * LUKS2 labels (cryptsetup(8) --label, `cryptsetup config --label`). A header is written with PENDING and relabelled
 * READY once the mapping's first and last MiB are zeroed: a crash in between leaves PENDING, and the next stage zeroes
 * again (nothing was written to the volume yet, mkfs comes after READY). Without the zeroing the mapping of a fresh
 * header reads as noise, and the format safety (probe.ts) would rightly refuse to mkfs it.
 */
export const PENDING_LABEL = 'rds-csi-pending';
export const READY_LABEL = 'rds-csi';

/**
 * Memory cost of argon2id in KiB for a new header. cryptsetup's default is up to 1 GiB (capped at half the RAM it
 * sees, not at the container's limit): with the chart's 512 MiB node limit and a few volumes staged at once, that is
 * an OOM kill. 64 MiB per open, with cryptsetup's benchmarked iteration count for its default unlock time.
 */
export const PBKDF_MEMORY_KIB = 65536;

/** exit code 2 of cryptsetup: "no permission (bad passphrase)" (cryptsetup(8), RETURN CODES). */
export const EXIT_BAD_PASSPHRASE = 2;
/** exit code 5: "device already exists or device is busy". */
export const EXIT_BUSY = 5;

/** The encryption a volume_context asks for; INVALID_ARGUMENT for a value the node does not know. */
export function encryptionOf(volumeContext: Record<string, string> | undefined): Encryption | undefined {
  const v = volumeContext?.[ENCRYPTION_PARAM];
  if (v === undefined || v === '') return undefined;
  const problem = encryptionProblem(v);
  if (problem) throw invalid(`volume_context.${ENCRYPTION_PARAM}="${v}" ${problem}`);
  return v as Encryption;
}

/**
 * The passphrase from a request's secrets. Missing is INVALID_ARGUMENT: the CSI spec's general error table has
 * "Missing required field → 3 INVALID_ARGUMENT", and the secret is a field of this request (kubelet fills it from the
 * StorageClass's node-stage secret); FAILED_PRECONDITION would say the volume is in the wrong state, which it is not.
 */
export function passphraseOf(secrets: Record<string, string> | undefined, secretKind: string): string {
  const key = secrets?.[PASSPHRASE_KEY];
  if (!key)
    throw invalid(
      `the volume is encrypted (${ENCRYPTION_PARAM}: luks2) but the request carries no ${PASSPHRASE_KEY} secret: set csi.storage.k8s.io/${secretKind}-secret-name and -namespace in the StorageClass to a Secret with that key`,
    );
  return key;
}

/**
 * The device-mapper name of a volume's mapping: `rds-csi-<volume id>` when the id is plain (lower-case letters, digits,
 * dashes, as this driver's ids are) and short; otherwise `rds-csi-` and 32 hex digits of its SHA-256. Always within
 * DM_NAME_LEN (128) and free of `/` and anything a shell or udev rule could misread.
 */
export function mappingName(volumeId: string): string {
  // The slot's on every backend (issue 16): `<slot>@<backend>` maps as `<slot>`, the name crypt-volume.ts's attribution
  // derives from the NQN `<prefix>:<slot>`, so a volume on another backend is recognised as its own mapping.
  const slot = splitId(volumeId)?.slot ?? volumeId;
  if (/^[a-z0-9][a-z0-9-]{0,99}$/.test(slot)) return `rds-csi-${slot}`;
  return `rds-csi-${createHash('sha256').update(volumeId).digest('hex').slice(0, 32)}`;
}

export const cryptArgs = {
  format: (devPath: string, iterTimeMs?: number): string[] => [
    'luksFormat',
    ...(iterTimeMs ? ['--iter-time', String(iterTimeMs)] : []),
    '--type',
    'luks2',
    '--batch-mode',
    '--pbkdf',
    'argon2id',
    '--pbkdf-memory',
    String(PBKDF_MEMORY_KIB),
    '--label',
    PENDING_LABEL,
    '--key-file',
    '-',
    devPath,
  ],
  open: (devPath: string, name: string): string[] => ['open', '--type', 'luks2', '--key-file', '-', devPath, name],
  close: (name: string): string[] => ['close', name],
  resize: (name: string, withKey: boolean): string[] => ['resize', ...(withKey ? ['--key-file', '-'] : []), name],
  relabel: (devPath: string, label: string): string[] => ['config', '--label', label, devPath],
  dump: (devPath: string): string[] => ['luksDump', devPath],
};

/** cryptsetup with the key (if any) on stdin. */
export function cryptsetup(host: HostPort, args: string[], key: string | undefined, timeoutMs: number): Promise<ToolResult> {
  return host.run('cryptsetup', args, key === undefined ? { timeoutMs } : { timeoutMs, input: key });
}

/** A failed cryptsetup as a Failure: a timeout may pass (UNAVAILABLE), anything else is the volume's state. */
export function cryptFailure(what: string, r: ToolResult): HostError {
  if (r.timedOut) return new HostError(`${what}: ${describeResult(r)}; retry`, 'unavailable');
  if (r.code === EXIT_BUSY) return new HostError(`${what}: the mapping exists or is busy: ${describeResult(r)}`, 'precondition');
  return new HostError(`${what}: ${describeResult(r)}`, 'precondition');
}

/** The LUKS2 label of a header (`Label:` of luksDump), '' when it has none. */
export async function luksLabel(host: HostPort, devPath: string, timeoutMs: number): Promise<string> {
  const r = await cryptsetup(host, cryptArgs.dump(devPath), undefined, timeoutMs);
  if (!ok(r)) throw cryptFailure(`reading the LUKS header of ${devPath}`, r);
  const m = /^Label:\s*(.*)$/m.exec(r.stdout);
  const label = (m?.[1] ?? '').trim();
  return label === '(no label)' ? '' : label;
}
