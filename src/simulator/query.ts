/**
 * The API query stack (docs/ARCHITECTURE.md RouterOS §1.6). The stack starts as infinitely many `true`; every query
 * word pushes a boolean or rewrites the stack; an item matches when no `false` is left on it. There is no `~` (regex)
 * in the API.
 */
import { TrapError } from './errors';

export type Row = Record<string, string>;
export type Predicate = (row: Row) => boolean;

type Step = (row: Row, stack: boolean[]) => void;

/** Integers compare numerically when both sides are integers, everything else compares as strings. */
function compare(a: string, b: string): number {
  if (/^-?\d+$/.test(a) && /^-?\d+$/.test(b)) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Entry at `index` counted from the top (0); below the explicit entries the stack is all `true`. */
function at(stack: boolean[], index: number): boolean {
  const i = stack.length - 1 - index;
  return i >= 0 ? stack[i] : true;
}

function pop(stack: boolean[]): boolean {
  return stack.length > 0 ? (stack.pop() as boolean) : true;
}

function has(row: Row, name: string): boolean {
  return Object.prototype.hasOwnProperty.call(row, name);
}

/** Compiles the `?#` operator string into a stack program. */
function compileOps(ops: string): Step {
  return (_row, stack) => {
    let i = 0;
    let afterIndex = false;
    while (i < ops.length) {
      const c = ops[i];
      if (c >= '0' && c <= '9') {
        let j = i;
        while (j < ops.length && ops[j] >= '0' && ops[j] <= '9') j++;
        const value = at(stack, Number(ops.slice(i, j)));
        if (j === ops.length) {
          // An index at the end of the word replaces the whole stack with that entry.
          stack.length = 0;
          stack.push(value);
        } else {
          stack.push(value);
        }
        i = j;
        afterIndex = true;
        continue;
      }
      switch (c) {
        case '!':
          stack.push(!pop(stack));
          break;
        case '&': {
          const a = pop(stack);
          const b = pop(stack);
          stack.push(a && b);
          break;
        }
        case '|': {
          const a = pop(stack);
          const b = pop(stack);
          stack.push(a || b);
          break;
        }
        case '.':
          // After an index the dot only separates; otherwise it duplicates the top.
          if (!afterIndex) stack.push(at(stack, 0));
          break;
        default:
          throw new TrapError(`unknown query operation ${c}`, 5);
      }
      afterIndex = false;
      i++;
    }
  };
}

/** Compiles one query word (with its leading `?`). */
export function compileWord(word: string): Step {
  const body = word.slice(1);
  if (body.startsWith('#')) return compileOps(body.slice(1));
  const op = body[0];
  if (op === '<' || op === '>' || op === '=') {
    const rest = body.slice(1);
    const eq = rest.indexOf('=');
    const name = eq < 0 ? rest : rest.slice(0, eq);
    const value = eq < 0 ? '' : rest.slice(eq + 1);
    if (op === '=') return (row, stack) => void stack.push((has(row, name) ? row[name] : '') === value);
    const want = op === '<' ? -1 : 1;
    return (row, stack) => void stack.push(has(row, name) && compare(row[name], value) === want);
  }
  if (op === '-') {
    const name = body.slice(1);
    return (row, stack) => void stack.push(!has(row, name));
  }
  const eq = body.indexOf('=');
  if (eq < 0) return (row, stack) => void stack.push(has(row, body));
  const name = body.slice(0, eq);
  const value = body.slice(eq + 1);
  // A missing property equals the empty string (so `?comment=` matches items without a comment).
  return (row, stack) => void stack.push((has(row, name) ? row[name] : '') === value);
}

/** Compiles the ordered list of query words of one sentence; no words matches everything. */
export function compileQuery(words: readonly string[]): Predicate {
  const steps = words.map(compileWord);
  return (row) => {
    const stack: boolean[] = [];
    for (const s of steps) s(row, stack);
    return stack.every(Boolean);
  };
}

/**
 * An indexed property the query requires to equal a non-empty value, if any: without `?#` every word pushes one
 * boolean and an item matches only when all of them hold, so an item matching the whole query has that property
 * equal to that value (also under `.proplist`: a property it leaves out reads as `''`, which equals no non-empty
 * value). The rows having it are therefore a superset of the answer; running the full query over them gives the
 * same rows as over everything.
 */
export function keyEquality(words: readonly string[], props: readonly string[]): { prop: string; value: string } | undefined {
  if (words.some((w) => w.startsWith('?#'))) return undefined;
  for (const w of words) {
    const body = w.slice(1);
    const first = body[0];
    if (first === '<' || first === '>' || first === '-') continue;
    const rest = first === '=' ? body.slice(1) : body;
    const eq = rest.indexOf('=');
    if (eq < 0) continue; // `?prop`: presence, or `?=prop`: equals ''
    const prop = rest.slice(0, eq);
    const value = rest.slice(eq + 1);
    if (value !== '' && props.includes(prop)) return { prop, value };
  }
  return undefined;
}
