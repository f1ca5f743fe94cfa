/** Exit codes of the operator commands, and the two errors that choose them. */

export const EXIT_OK = 0;
/** A check failed, something was not found, or Redis/RDS could not be reached. */
export const EXIT_FAILED = 1;
/** Bad usage or configuration. */
export const EXIT_USAGE = 2;

/** Bad usage (a flag value, a missing --yes): exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A check failed or something was not found: exit 1 with this message. */
export class OpsFailure extends Error {
  override readonly name = 'OpsFailure';
}
