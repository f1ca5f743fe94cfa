import { status } from '@grpc/grpc-js';
import { GrpcError } from '../grpc/errors';

/**
 * A syscall on a path from the request (lstat, realpath, statfs, mkdir, rmdir, unlink) that fails with an errno is
 * the caller's path being wrong far more often than the node being broken, so each errno gets a code that says so
 * instead of INTERNAL. The paths are checked for shape first (validate.ts: NUL, NAME_MAX, PATH_MAX); this is the
 * net behind it, applied once at the Node service's edge (deps.toGrpcError). Where an RPC's spec row gives a
 * missing path another meaning (NodeUnpublish/NodeUnstage: already gone = OK), the handler decides before this.
 */

const BY_ERRNO: Record<string, status> = {
  ENAMETOOLONG: status.INVALID_ARGUMENT,
  EINVAL: status.INVALID_ARGUMENT,
  ELOOP: status.INVALID_ARGUMENT,
  EFAULT: status.INVALID_ARGUMENT,
  ENOENT: status.NOT_FOUND,
  ENOTDIR: status.NOT_FOUND,
  ENODEV: status.NOT_FOUND,
  ENXIO: status.NOT_FOUND,
  EACCES: status.FAILED_PRECONDITION,
  EPERM: status.FAILED_PRECONDITION,
  EROFS: status.FAILED_PRECONDITION,
  EEXIST: status.FAILED_PRECONDITION,
  ENOTEMPTY: status.FAILED_PRECONDITION,
  EISDIR: status.FAILED_PRECONDITION,
  EBUSY: status.FAILED_PRECONDITION,
  EXDEV: status.FAILED_PRECONDITION,
  ENOSPC: status.RESOURCE_EXHAUSTED,
  EDQUOT: status.RESOURCE_EXHAUSTED,
  EMFILE: status.RESOURCE_EXHAUSTED,
  ENFILE: status.RESOURCE_EXHAUSTED,
  ENOMEM: status.RESOURCE_EXHAUSTED,
  EIO: status.UNAVAILABLE,
  ESTALE: status.UNAVAILABLE,
  EAGAIN: status.UNAVAILABLE,
  EINTR: status.UNAVAILABLE,
  ETIMEDOUT: status.UNAVAILABLE,
};

/** Duck-typed: an errno error may come from another realm (a test runner's sandbox), where instanceof Error fails. */
function isErrno(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
}

/** The errno error as a GrpcError with a clean code and a message naming the syscall and path; undefined if not an errno. */
export function errnoToGrpc(err: unknown): GrpcError | undefined {
  if (!isErrno(err)) return undefined;
  const code = BY_ERRNO[err.code] ?? status.FAILED_PRECONDITION;
  const where = [err.syscall, err.path ? JSON.stringify(err.path.slice(0, 300)) : undefined].filter(Boolean).join(' ');
  return new GrpcError(code, `${where || 'a file operation'} failed with ${err.code}`);
}
