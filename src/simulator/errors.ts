/** Errors a command handler throws; the session turns them into reply sentences. */

/** Answered as `!trap =category=<n>? =message=<text>` (one per message: `message`, then `more`) followed by `!done`. */
export class TrapError extends Error {
  constructor(
    message: string,
    readonly category?: number,
    /** Further `!trap` sentences sent before the `!done` (the API manual allows several traps per reply). */
    readonly more: readonly string[] = [],
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
