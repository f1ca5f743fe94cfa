/** The parsed form of one API sentence and what a handler answers. */
import type { Row } from './query';

export interface Command {
  /** Command word, e.g. `/disk/print`. */
  path: string;
  /** `=name=value` attributes (split at the second `=`; a later duplicate wins). */
  attrs: Map<string, string>;
  /** `?…` query words in order. */
  queries: string[];
  /** `.tag` value; undefined when absent or empty. */
  tag?: string;
}

export interface CommandResult {
  /** One `!re` each. */
  rows: Row[];
  /** Attributes of the final `!done` (e.g. `ret`). */
  done?: Row;
  /** Set by print: zero rows and not count-only, so 7.18+ answers `!empty` before `!done`. */
  emptyEligible?: boolean;
}

export type Handler = (cmd: Command, signal: AbortSignal) => Promise<CommandResult> | CommandResult;

/** Splits a sentence into a Command. The first word is the command word. */
export function parseSentence(words: readonly string[]): Command {
  const attrs = new Map<string, string>();
  const queries: string[] = [];
  let tag: string | undefined;
  for (const w of words.slice(1)) {
    if (w.startsWith('=')) {
      const eq = w.indexOf('=', 1);
      if (eq < 0) attrs.set(w.slice(1), '');
      else attrs.set(w.slice(1, eq), w.slice(eq + 1));
    } else if (w.startsWith('?')) {
      queries.push(w);
    } else if (w.startsWith('.tag=')) {
      const t = w.slice(5);
      tag = t === '' ? undefined : t;
    }
    // Other API attributes (`.something=`) are ignored.
  }
  return { path: words[0] ?? '', attrs, queries, tag };
}

/** Builds `=key=value` words from a row. */
export function rowWords(row: Row): string[] {
  return Object.entries(row).map(([k, v]) => `=${k}=${v}`);
}
