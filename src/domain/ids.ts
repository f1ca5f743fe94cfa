import { createHash } from 'node:crypto';
import path from 'node:path';

/**
 * Identity of things (docs/ARCHITECTURE.md#identity). A volume id is deterministic from the CSI name, safe as a
 * RouterOS slot and as the last part of an NQN (lower-case letters, digits, '-'), at most 63 characters. `pvc-<uuid>`
 * maps to itself; any other name becomes `vol-<readable part>-<hash>` so distinct names never collide after
 * sanitising. Snapshot ids start with `snap-` and volume ids never do, so one is never accepted for the other.
 */

export const MAX_ID_LENGTH = 63;
const PVC_NAME = /^pvc-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SAFE_ID = /^[a-z0-9][a-z0-9-]*[a-z0-9]$/;

function hash(name: string, len: number): string {
  return createHash('sha256').update(name, 'utf8').digest('hex').slice(0, len);
}

function readable(name: string, max: number): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, max)
    .replace(/-+$/g, '');
}

function derive(kind: 'vol' | 'snap', name: string, prefix: string): string {
  if (kind === 'vol' && PVC_NAME.test(name)) return prefix + name;
  const h = hash(name, 12);
  const room = MAX_ID_LENGTH - prefix.length - kind.length - h.length - 2;
  const body = readable(name, room);
  return body ? `${prefix}${kind}-${body}-${h}` : `${prefix}${kind}-${h}`;
}

export function volumeIdFromName(name: string, prefix: string): string {
  return derive('vol', name, prefix);
}

export function snapshotIdFromName(name: string, prefix: string): string {
  return derive('snap', name, prefix);
}

/**
 * True when `id` has the shape of one of our volume ids (it may still not exist). `prefix` is cfg.volumePrefix and
 * has no default on purpose: a caller that forgot it would silently miss every id under a non-empty prefix.
 */
export function isVolumeId(id: string, prefix: string): boolean {
  if (!id.startsWith(prefix) || id.length > MAX_ID_LENGTH || !SAFE_ID.test(id)) return false;
  const rest = id.slice(prefix.length);
  return PVC_NAME.test(rest) || /^vol-/.test(rest);
}

export function isSnapshotId(id: string, prefix: string): boolean {
  if (!id.startsWith(prefix) || id.length > MAX_ID_LENGTH || !SAFE_ID.test(id)) return false;
  return id.slice(prefix.length).startsWith('snap-');
}

/**
 * The CSI name a volume id was derived from, when the id alone tells it: `<prefix>pvc-<uuid>` comes from the PV name
 * `pvc-<uuid>`. Any other id was hashed from its name, which is not recoverable: ''.
 */
export function volumeNameOf(id: string, prefix: string): string {
  if (!isVolumeId(id, prefix)) return '';
  const rest = id.slice(prefix.length);
  return PVC_NAME.test(rest) ? rest : '';
}

export function nqnFor(nqnPrefix: string, volumeId: string): string {
  return `${nqnPrefix}:${volumeId}`;
}

/** `<basePath>/<id>.img`, checked to stay under basePath by path components. */
export function backingFilePath(basePath: string, id: string): string {
  const file = path.posix.join(basePath, `${id}.img`);
  if (!isUnder(basePath, file)) throw new Error(`backing file ${file} escapes base path ${basePath}`);
  return file;
}

/** Path-component containment: `/pool/a` is under `/pool`, `/pool-b/a` and `/pool/../x` are not. */
export function isUnder(base: string, candidate: string): boolean {
  const b = path.posix.normalize(base).split('/').filter(Boolean);
  const c = path.posix.normalize(candidate).split('/').filter(Boolean);
  if (!candidate.startsWith('/') || candidate.split('/').includes('..')) return false;
  return c.length > b.length && b.every((part, i) => c[i] === part);
}
