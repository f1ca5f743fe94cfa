import { Failure, type FailureKind } from '../domain/failure';

/**
 * A syscall on a path from the request (lstat, realpath, statfs, mkdir, rmdir, unlink) that fails with an errno is
 * the caller's path being wrong far more often than the node being broken, so each errno gets a code that says so
 * instead of INTERNAL. The paths are checked for shape first (validate.ts: NUL, NAME_MAX, PATH_MAX); this is the
 * net behind it, applied once at the Node service's edge (deps.nodeFailure). Where an RPC's spec row gives a
 * missing path another meaning (NodeUnpublish/NodeUnstage: already gone = OK), the handler decides before this.
 */

const BY_ERRNO: Record<string, FailureKind> = {
  ENAMETOOLONG: 'invalid',
  EINVAL: 'invalid',
  ELOOP: 'invalid',
  EFAULT: 'invalid',
  ENOENT: 'not-found',
  ENOTDIR: 'not-found',
  ENODEV: 'not-found',
  ENXIO: 'not-found',
  EACCES: 'precondition',
  EPERM: 'precondition',
  EROFS: 'precondition',
  EEXIST: 'precondition',
  ENOTEMPTY: 'precondition',
  EISDIR: 'precondition',
  EBUSY: 'precondition',
  EXDEV: 'precondition',
  ENOSPC: 'exhausted',
  EDQUOT: 'exhausted',
  EMFILE: 'exhausted',
  ENFILE: 'exhausted',
  ENOMEM: 'exhausted',
  EIO: 'unavailable',
  ESTALE: 'unavailable',
  EAGAIN: 'unavailable',
  EINTR: 'unavailable',
  ETIMEDOUT: 'unavailable',
};

/** Duck-typed: an errno error may come from another realm (a test runner's sandbox), where instanceof Error fails. */
function isErrno(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
}

/** The errno error as a Failure with a clean kind and a message naming the syscall and path; undefined if not an errno. */
export function errnoFailure(err: unknown): Failure | undefined {
  if (!isErrno(err)) return undefined;
  const kind = BY_ERRNO[err.code] ?? 'precondition';
  const where = [err.syscall, err.path ? JSON.stringify(err.path.slice(0, 300)) : undefined].filter(Boolean).join(' ');
  return new Failure(kind, `${where || 'a file operation'} failed with ${err.code}`);
}
