import type { ConfigIssue } from './sources';

/**
 * A few validators with zod's semantics and zod's English messages (zod 4: z.string checks, z.coerce.number().int()
 * checks, z.enum, .optional(), .default(), z.object), for the node plugin's config (node-config.ts), which must not
 * load zod (issue 14 item 4: zod alone is ~6 MiB of the plugin's RSS). Only what node-config.ts needs; the zod schema
 * (schema.ts) stays the source of truth, and test/config/node-config.test.ts checks both agree on generated inputs.
 */

/** Validates `input`; on failure it adds issues (paths relative to `path`) and its return value is not used. */
export type Check<T> = (input: unknown, path: readonly PropertyKey[], issues: ConfigIssue[]) => T;

/** zod's util.parsedType + the English locale's type names. */
function received(input: unknown): string {
  if (typeof input === 'number') return Number.isNaN(input) ? 'NaN' : Number.isFinite(input) ? 'number' : String(input);
  if (typeof input === 'object') {
    if (input === null) return 'null';
    if (Array.isArray(input)) return 'array';
    const ctor = (input as { constructor?: { name?: string } }).constructor;
    if (Object.getPrototypeOf(input) !== Object.prototype && ctor) return String(ctor.name);
  }
  return typeof input;
}

const typeIssue = (expected: string, input: unknown): string => `Invalid input: expected ${expected}, received ${received(input)}`;

export interface StringRules {
  min?: number;
  max?: number;
  startsWith?: string;
  /** [pattern, message]; the message defaults to zod's. */
  regex?: readonly [RegExp, string?];
  /** The message when the value is missing (zod's `error` for input undefined). */
  required?: string;
}

/**
 * The length checks of .min/.max, which zod runs even after a failed type check when the input has a length (an
 * array): zod 4's `when` of its length checks.
 */
function lengthIssues(input: { length: unknown }, rules: StringRules, path: readonly PropertyKey[], issues: ConfigIssue[]): void {
  const n = input.length as number;
  const [origin, unit] = typeof input === 'string' ? ['string', ' characters'] : Array.isArray(input) ? ['array', ' items'] : ['unknown', ''];
  const verb = unit ? 'to have' : 'to be';
  if (rules.min !== undefined && n < rules.min) issues.push({ path, message: `Too small: expected ${origin} ${verb} >=${rules.min}${unit}` });
  if (rules.max !== undefined && n > rules.max) issues.push({ path, message: `Too big: expected ${origin} ${verb} <=${rules.max}${unit}` });
}

/** z.string() with .min/.max/.startsWith/.regex, in this order (as the schema declares them). */
export function str(rules: StringRules = {}): Check<string> {
  return (input, path, issues) => {
    if (typeof input !== 'string') {
      issues.push({ path, fatal: true, message: input === undefined && rules.required ? rules.required : typeIssue('string', input) });
      if (input !== null && input !== undefined && (input as { length?: unknown }).length !== undefined)
        lengthIssues(input as { length: unknown }, rules, path, issues);
      return '';
    }
    lengthIssues(input, rules, path, issues);
    if (rules.startsWith !== undefined && !input.startsWith(rules.startsWith)) {
      issues.push({ path, message: `Invalid string: must start with "${rules.startsWith}"` });
    }
    if (rules.regex) {
      const [re, message] = rules.regex;
      re.lastIndex = 0;
      if (!re.test(input)) issues.push({ path, message: message ?? `Invalid string: must match pattern ${String(re)}` });
    }
    return input;
  };
}

export interface IntRules {
  min?: number;
  /** .positive(): > 0. */
  positive?: boolean;
  max?: number;
}

/** z.coerce.number().int() with .min/.positive/.max: Number(input), then finite, integer, safe, in range. */
export function coercedInt(rules: IntRules = {}): Check<number> {
  return (input, path, issues) => {
    let v: unknown = input;
    try {
      v = Number(input);
    } catch {
      /* a symbol: stays as it is and fails the type check, as in zod */
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      issues.push({ path, fatal: true, message: typeIssue('number', v) });
      return 0;
    }
    if (!Number.isInteger(v)) {
      issues.push({ path, fatal: true, message: typeIssue('int', v) });
      return 0;
    }
    if (v > Number.MAX_SAFE_INTEGER) issues.push({ path, message: `Too big: expected int to be <=${Number.MAX_SAFE_INTEGER}` });
    if (v < Number.MIN_SAFE_INTEGER) issues.push({ path, message: `Too small: expected int to be >=${Number.MIN_SAFE_INTEGER}` });
    if (rules.min !== undefined && v < rules.min) issues.push({ path, message: `Too small: expected number to be >=${rules.min}` });
    if (rules.positive && v <= 0) issues.push({ path, message: 'Too small: expected number to be >0' });
    if (rules.max !== undefined && v > rules.max) issues.push({ path, message: `Too big: expected number to be <=${rules.max}` });
    return v;
  };
}

/** z.enum(values). */
export function oneOf<const T extends string>(values: readonly T[]): Check<T> {
  return (input, path, issues) => {
    if (!values.includes(input as T))
      issues.push({ path, fatal: true, message: `Invalid option: expected one of ${values.map((x) => JSON.stringify(x)).join('|')}` });
    return input as T;
  };
}

/** .optional(): undefined passes as undefined. */
export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (input, path, issues) => (input === undefined ? undefined : check(input, path, issues));
}

/** .default(value): undefined becomes `value` (a fresh copy of an object default). */
export function withDefault<T>(check: Check<T>, value: T): Check<T> {
  return (input, path, issues) => (input === undefined ? structuredClone(value) : check(input, path, issues));
}

type Shape = Record<string, Check<unknown>>;
/** Keys whose check may give undefined are optional, as in z.infer. */
type Out<S extends Shape> = { [K in keyof S as undefined extends ReturnType<S[K]> ? never : K]: ReturnType<S[K]> } & {
  [K in keyof S as undefined extends ReturnType<S[K]> ? K : never]?: ReturnType<S[K]>;
};

/**
 * z.object(shape): a plain object (not null, not an array); every key of the shape checked, unknown keys dropped. A
 * key whose value comes out undefined is kept only when the input had it (as zod does).
 */
export function obj<S extends Shape>(shape: S): Check<Out<S>> {
  return (input, path, issues) => {
    const out: Record<string, unknown> = {};
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      issues.push({ path, fatal: true, message: typeIssue('object', input) });
      return out as Out<S>;
    }
    const given = input as Record<string, unknown>;
    for (const [key, check] of Object.entries(shape)) {
      const v = check(given[key], [...path, key], issues);
      if (v !== undefined || key in given) out[key] = v;
    }
    return out as Out<S>;
  };
}
