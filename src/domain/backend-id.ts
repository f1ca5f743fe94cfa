/**
 * Which RDS backend a volume or snapshot lives on, carried by its CSI id (issue 16): every later call (delete,
 * publish, snapshot, expand) goes to the right RDS from the id alone, with no look-up that a lost Redis could lose.
 *
 * - On the primary backend the id is the RouterOS slot itself, as it always was (`pvc-<uuid>`, `vol-…`, `snap-…`):
 *   ids made before there were backends keep working and mean the primary.
 * - On any other backend it is `<slot>@<backend>`. The slot never holds `@` (lower-case letters, digits, `-`:
 *   src/domain/ids.ts) and a backend name is a Kubernetes label value (no `@` either), so the split is unambiguous.
 *   The slot, the NQN (`<nqnPrefix>:<slot>`) and the backing file stay what they would be on the primary: a volume's
 *   name on RDS does not depend on which RDS holds it.
 */

export const BACKEND_MARK = '@';

const BACKEND_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export interface PlacedId {
  /** The RouterOS slot (and backing-file and NQN name). */
  slot: string;
  /** The backend's name; undefined = the primary. */
  backend?: string;
}

/** The CSI id of `slot` on `backend` (undefined, or the primary's own name, = the primary: the bare slot). */
export function placedId(slot: string, backend: string | undefined, primary: string): string {
  return backend === undefined || backend === primary ? slot : `${slot}${BACKEND_MARK}${backend}`;
}

/**
 * The slot and backend an id names; undefined when the id has a mark but no valid backend name after it (such an id
 * was not made by this driver: INVALID_ARGUMENT or NOT_FOUND at the caller, never a guess).
 */
export function splitId(id: string): PlacedId | undefined {
  const at = id.indexOf(BACKEND_MARK);
  if (at < 0) return { slot: id };
  const backend = id.slice(at + 1);
  if (at === 0 || backend.length > 63 || !BACKEND_NAME.test(backend)) return undefined;
  return { slot: id.slice(0, at), backend };
}

/** The backend an id names, the primary's name for a bare slot; undefined for a malformed mark. */
export function backendOfId(id: string, primary: string): string | undefined {
  const p = splitId(id);
  return p && (p.backend ?? primary);
}
