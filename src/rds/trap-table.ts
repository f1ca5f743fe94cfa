/**
 * What a RouterOS `!trap` means for the driver, as data: the documented trap categories and the message texts that
 * were actually seen from RouterOS, each with its source. errors.ts classifies a trap with these tables, in order:
 *   1. TRAP_TEXTS rows marked `certain` (documented or captured texts that say exactly what happened);
 *   2. the trap's `=category=` when RouterOS sent one (TRAP_CATEGORIES);
 *   3. the remaining TRAP_TEXTS rows (texts of `/disk` failures that were never captured from hardware);
 *   4. anything else: a `precondition` failure (never retried) that quotes RouterOS (errors.ts, `unknownTrap`).
 *
 * Sources (marks as in docs/ARCHITECTURE.md#routeros-facts: D documented by MikroTik, C seen in captures or client
 * code, I inferred, U unknown):
 *   API    MikroTik API manual, section "!trap" (help.mikrotik.com/docs/spaces/ROS/pages/47579160/API, also
 *          wiki.mikrotik.com/wiki/Manual:API): "When for some reason API sentence fails trap is sent in return
 *          accompanied with message attribute and on some occasions category argument", categories 0..7 below,
 *          example `!trap =category=1 =message=input does not match any value of interface`.
 *   NR     node-routeros 1.6.9 src/RouterOSAPI.ts: login traps `cannot log in`, `invalid user name or password (6)`.
 *   CAPT   third-party captures collected in docs/ARCHITECTURE.md RouterOS §1.11 (`no such item`,
 *          `no such command or directory (x)`, `no such command prefix`, `unknown parameter`, `not enough privileges`,
 *          `failure: already have such name` from aluisiora/node-routeros #26).
 *   RDSCSI 3whiskeywhiskey/rds-csi mock and docs (`not enough space`): never captured from an RDS
 *          (docs/ARCHITECTURE.md RouterOS §2.8).
 */
import type { FailureKind } from '../domain/failure';

export interface TrapMeaning {
  /** The failure kind (src/domain/failure.ts); `unavailable` is transient and retried, the others are not. */
  kind: FailureKind;
  /** What the operator should do; appended to RouterOS's quoted text. */
  advice: string;
}

export interface TrapTextRow extends TrapMeaning {
  /** Matched against the trap's `=message=` (case-insensitive). */
  test: RegExp;
  /** `certain`: a documented or captured text with one meaning; wins over the category. */
  certain: boolean;
  source: string;
}

const NOT_FOUND: TrapMeaning = { kind: 'not-found', advice: 'the item does not exist (any more)' };

const BAD_ARGUMENT: TrapMeaning = {
  kind: 'invalid',
  advice: 'RDS rejected an argument; check the volume parameters (slot, path, size, NQN, port)',
};

const INTERRUPTED: TrapMeaning = {
  kind: 'unavailable',
  advice: 'RDS interrupted the command; the request will be retried',
};

/** Message texts, first match wins within each pass (see the header). */
export const TRAP_TEXTS: readonly TrapTextRow[] = [
  {
    test: /^no such command( or directory| prefix)?\b/i,
    certain: true,
    kind: 'unsupported',
    advice: 'this RouterOS does not know the command; check that rose-storage is installed and the RouterOS version',
    source: 'C [CAPT] `no such command or directory (<word>)` + `no such command prefix`, category 0',
  },
  { test: /^no such item\b/i, certain: true, ...NOT_FOUND, source: 'C [CAPT] `no such item`, older versions `no such item (4)`' },
  {
    test: /^(invalid user name or password|cannot log in)\b/i,
    certain: true,
    kind: 'precondition',
    advice: 'check the RDS user and password in the driver configuration',
    source: 'C [NR] login traps `invalid user name or password (6)`, `cannot log in`',
  },
  {
    test: /^not enough privileges\b/i,
    certain: true,
    kind: 'precondition',
    advice: 'the RDS user lacks a policy; give its group the api, read and write policies',
    source: 'C [CAPT] `not enough privileges`',
  },
  { test: /^interrupted$/i, certain: true, ...INTERRUPTED, source: 'D [API] `interrupted` after /cancel, category 2' },
  {
    test: /^(input does not match any value of|unknown parameter)\b/i,
    certain: true,
    ...BAD_ARGUMENT,
    source: 'D [API] `input does not match any value of <prop>` (category 1); C [CAPT] `unknown parameter <name>`',
  },
  {
    test: /\balready have such\b/i,
    certain: true,
    kind: 'precondition',
    advice: 'an item with that name already exists on RDS; remove it or pick another name',
    source: "C [CAPT] `failure: already have such name` (node-routeros #26, /queue; RouterOS's duplicate idiom)",
  },
  {
    test: /\b(not enough space|no space left)\b/i,
    certain: false,
    kind: 'exhausted',
    advice: 'the storage pool is full; free space on RDS or ask for a smaller volume',
    source: 'U [RDSCSI] `not enough space` (mock only); I Linux ENOSPC text `No space left on device`',
  },
  {
    test: /\b(busy|try again)\b/i,
    certain: false,
    kind: 'unavailable',
    advice: 'RDS is busy; the request will be retried',
    source: 'I Linux EBUSY text `Device or resource busy`; never captured from RDS. Retrying is bounded by the job attempts',
  },
];

/** `=category=` values, documented in [API]. Categories without a fixed meaning here fall through to the texts. */
export const TRAP_CATEGORIES: Readonly<Record<number, (TrapMeaning & { name: string; source: string }) | undefined>> = {
  0: { name: 'missing item or command', ...NOT_FOUND, source: 'D [API] category 0' },
  1: { name: 'argument value failure', ...BAD_ARGUMENT, source: 'D [API] category 1' },
  2: { name: 'execution of command interrupted', ...INTERRUPTED, source: 'D [API] category 2' },
};

/** Names of every documented category, for messages. D [API]. */
export const TRAP_CATEGORY_NAMES: readonly string[] = [
  'missing item or command',
  'argument value failure',
  'execution of command interrupted',
  'scripting related failure',
  'general failure',
  'API related failure',
  'TTY related failure',
  'value generated with :return command',
];

/** The meaning of a trap, or undefined when neither its text nor its category is known (see errors.ts). */
export function trapMeaning(message: string, category: number | undefined): TrapMeaning | undefined {
  const certain = TRAP_TEXTS.find((r) => r.certain && r.test.test(message));
  if (certain) return certain;
  const byCategory = category === undefined ? undefined : TRAP_CATEGORIES[category];
  if (byCategory) return byCategory;
  return TRAP_TEXTS.find((r) => !r.certain && r.test.test(message));
}
