/** Shared `print`/`getall` semantics: `.proplist`, queries (on the projected row), `count-only`, `detail`. */
import type { Command, CommandResult } from './command';
import { compileQuery, type Row } from './query';

function project(row: Row, proplist: string[] | undefined): Row {
  if (!proplist) return row;
  const out: Row = {};
  for (const k of Object.keys(row)) if (proplist.includes(k)) out[k] = row[k];
  return out;
}

/**
 * Filters and projects rows. `detail` is accepted and changes nothing (the API already returns every property).
 * A property left out by `.proplist` counts as absent for queries (docs/ARCHITECTURE.md RouterOS §1.6). This is the
 * strict reading: the "find the .id" pattern must list the queried property (`=.proplist=.id,slot ?slot=X`), which
 * works on a router under either reading, so clients that pass here do not depend on the looser one. `count-only`
 * answers `!done =ret=<n>` and never `!empty` (whether RouterOS sends `!empty` there is unknown).
 */
export function runPrint(items: readonly Row[], cmd: Command): CommandResult {
  const raw = cmd.attrs.get('.proplist');
  const proplist = raw === undefined || raw === '' ? undefined : raw.split(',').map((s) => s.trim());
  const match = compileQuery(cmd.queries);
  const rows = items.map((r) => project(r, proplist)).filter(match);
  if (cmd.attrs.has('count-only')) {
    return { rows: [], done: { ret: String(rows.length) } };
  }
  return { rows, emptyEligible: rows.length === 0 };
}
