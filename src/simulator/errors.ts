/** Errors a command handler throws; the session turns them into reply sentences. */

/** Answered as `!trap =category=<n>? =message=<text>` followed by `!done`. */
export class TrapError extends Error {
  constructor(
    message: string,
    readonly category?: number,
  ) {
    super(message);
    this.name = 'TrapError';
  }
}

/** Answered as an untagged `!fatal <reason>`, after which the connection is closed. */
export class FatalError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'FatalError';
  }
}
