/** Input value parsing for `/disk` properties (docs/ARCHITECTURE.md RouterOS §1.7, 2.5). */
import { TrapError } from './errors';

const SUFFIX: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `file-size`: bytes, or a binary K/M/G/T suffix (`10G` = 10 GiB). Returns undefined for `auto`. */
export function parseSize(text: string, prop: string): number | undefined {
  if (text === 'auto') return undefined;
  const m = /^(\d+)([kKmMgGtT])?$/.exec(text.trim());
  if (!m) throw new TrapError(`value of ${prop} must be a number with optional K, M, G or T suffix`, 1);
  const n = Number(m[1]) * (m[2] ? SUFFIX[m[2].toLowerCase()] : 1);
  if (!Number.isSafeInteger(n)) throw new TrapError(`value of ${prop} out of range`, 1);
  return n;
}

/** Booleans: `yes`/`no` as in the CLI, `true`/`false` also accepted. */
export function parseBool(text: string, prop: string): boolean {
  switch (text) {
    case 'yes':
    case 'true':
      return true;
    case 'no':
    case 'false':
      return false;
    default:
      throw new TrapError(`input does not match any value of ${prop}`, 1);
  }
}

export function parseInteger(text: string, prop: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new TrapError(`value of ${prop} must be a number`, 1);
  const n = Number(text);
  if (n < min || n > max) throw new TrapError(`value of ${prop} out of range (${min}..${max})`, 1);
  return n;
}

/** API output format of a boolean. */
export function boolOut(v: boolean): string {
  return v ? 'true' : 'false';
}
