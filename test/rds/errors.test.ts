import { status } from '@grpc/grpc-js';
import { RosException } from 'node-routeros';
import { TRAP_CATEGORIES, TRAP_TEXTS } from '../../src/rds/trap-table';
import type { FailureKind } from '../../src/domain/failure';
import { statusOf } from '../../src/grpc/errors';
import { classifyRdsError, RdsError, RosTransportError, RosTrapError } from '../../src/rds/errors';

/** Retried by the queue (transient) or not: what the table's third column says. */
type Retry = 'transient' | 'permanent' | 'not-found';

/** A RouterOS !trap as node-routeros reports it without the adapter: a plain Error carrying only the message. */
const trap = (message: string): Error => new Error(message);
/** A RouterOS !trap through the adapter (trap-reply-patch.ts): message and, where sent, category. */
const rosTrap = (message: string, category?: number): RosTrapError => new RosTrapError(message, category);

const { FAILED_PRECONDITION, INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED, UNAVAILABLE, UNIMPLEMENTED } = status;

/**
 * Trap texts and categories with the source that says what they mean (the same sources as src/rds/trap-table.ts):
 * D = MikroTik API manual (!trap: categories 0..7, `input does not match any value of interface` with category 1,
 * `interrupted` with category 2), C = captures (docs/ARCHITECTURE.md RouterOS §1.11, node-routeros login code),
 * U = never captured (rds-csi mock wording). An unknown text is FAILED_PRECONDITION, quoted, never retried.
 */
const trapCases: Array<[string, unknown, Retry, status, RegExp | null]> = [
  // Documented or captured texts, with or without a category.
  ['C no such item', rosTrap('no such item', 0), 'not-found', NOT_FOUND, null],
  ['C old no such item (4)', trap('no such item (4)'), 'not-found', NOT_FOUND, null],
  ['C no such command or directory', rosTrap('no such command or directory (disk)', 0), 'permanent', UNIMPLEMENTED, /rose-storage/],
  ['C no such command prefix', trap('no such command prefix'), 'permanent', UNIMPLEMENTED, null],
  [
    'D input does not match (category 1)',
    rosTrap('input does not match any value of interface', 1),
    'permanent',
    INVALID_ARGUMENT,
    /category 1: argument value failure/,
  ],
  ['D input does not match (no category)', trap('input does not match any value of type'), 'permanent', INVALID_ARGUMENT, null],
  ['C unknown parameter', trap('unknown parameter foo'), 'permanent', INVALID_ARGUMENT, null],
  ['C not enough privileges', trap('not enough privileges'), 'permanent', FAILED_PRECONDITION, /policies/],
  ['C login trap', trap('invalid user name or password (6)'), 'permanent', FAILED_PRECONDITION, /password/],
  ['C already have such name', rosTrap('failure: already have such name'), 'permanent', FAILED_PRECONDITION, /already exists/],
  ['D interrupted (category 2)', rosTrap('interrupted', 2), 'transient', UNAVAILABLE, null],
  // The category decides where the text is not known (D).
  ['D category 0, other wording', rosTrap('no such disk', 0), 'not-found', NOT_FOUND, /missing item or command/],
  ['D category 1, other wording', rosTrap('value of file-size out of range', 1), 'permanent', INVALID_ARGUMENT, null],
  ['D category 2, other wording', rosTrap('command was stopped', 2), 'transient', UNAVAILABLE, null],
  ['D certain text wins over a category', rosTrap('no such item', 4), 'not-found', NOT_FOUND, null],
  ['D category 1 wins over an uncertain text', rosTrap('busy-mode must be yes or no', 1), 'permanent', INVALID_ARGUMENT, null],
  // Never captured (U): kept, but only where no category says otherwise.
  ['U not enough space', trap('not enough space'), 'permanent', RESOURCE_EXHAUSTED, /pool is full/],
  ['U no space left (category 4)', rosTrap('failure: no space left on device', 4), 'permanent', RESOURCE_EXHAUSTED, null],
  ['U busy', trap('failure: device or resource busy'), 'transient', UNAVAILABLE, null],
  ['U try again', trap('action failed, try again later'), 'transient', UNAVAILABLE, null],
  // Unknown: a clear permanent error quoting RouterOS, with the category's documented name.
  ['unknown text', trap('something odd happened'), 'permanent', FAILED_PRECONDITION, /RouterOS said "something odd happened".*not retried/],
  ['unknown text, category 4', rosTrap('failure: zorb', 4), 'permanent', FAILED_PRECONDITION, /"failure: zorb" \(trap category 4: general failure\)/],
  ['unknown text, category 5', rosTrap('weird', 5), 'permanent', FAILED_PRECONDITION, /API related failure/],
  ['former guess: failure: prefix is not a bad argument', trap('failure: could not create file'), 'permanent', FAILED_PRECONDITION, null],
  ['a trap saying fatal is still a trap', rosTrap('failure: fatal error in storage', 4), 'permanent', FAILED_PRECONDITION, /fatal error in storage/],
  ['empty trap', trap(''), 'permanent', FAILED_PRECONDITION, /empty trap message/],
];

const cases: Array<[string, unknown, Retry, status, RegExp | null]> = [
  ...trapCases,
  ['login refused', new RosException('CANTLOGIN'), 'permanent', status.FAILED_PRECONDITION, /password/],
  ['refused (numeric errno)', new RosException(-111 as unknown as string), 'transient', status.UNAVAILABLE, /ECONNREFUSED/],
  ['reset (numeric errno)', new RosException(-104 as unknown as string), 'transient', status.UNAVAILABLE, /ECONNRESET/],
  ['socket idle timeout', new RosException('SOCKTMOUT', { seconds: 10 }), 'transient', status.UNAVAILABLE, null],
  ['RosException without details', new RosException(undefined as unknown as string), 'transient', status.UNAVAILABLE, null],
  [
    'TLS verification',
    Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
    'permanent',
    status.FAILED_PRECONDITION,
    /pinned CA/,
  ],
  ['unknown reply', new RosException('UNKNOWNREPLY', { reply: '!x' }), 'transient', status.UNAVAILABLE, null],
  ['node ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'transient', status.UNAVAILABLE, null],
  ['ALRDYCONNECTING string', 'ALRDYCONNECTING', 'transient', status.UNAVAILABLE, null],
  ['call timeout', new RosTransportError('timeout', 'no answer'), 'transient', status.DEADLINE_EXCEEDED, null],
  ['connect timeout', new RosTransportError('connect-timeout', 'no conn'), 'transient', status.UNAVAILABLE, null],
  ['closed', new RosTransportError('closed', '!fatal'), 'transient', status.UNAVAILABLE, null],
  ['fatal text', new Error('!fatal session terminated'), 'transient', status.UNAVAILABLE, null],
  ['not an error', 42, 'permanent', status.UNKNOWN, null],
];

describe('classifyRdsError', () => {
  it.each(cases)('%s', (_name, input, kind, code, message) => {
    const e = classifyRdsError(input, '/disk/add slot=pvc-1');
    expect(e).toBeInstanceOf(RdsError);
    expect(e.transient).toBe(kind === 'transient');
    if (kind === 'not-found') expect(e.kind).toBe<FailureKind>('not-found');
    expect(statusOf(e)).toBe(code);
    expect(e.cause).toBe(input);
    expect(e.message).toContain('/disk/add slot=pvc-1');
    if (message) expect(e.message).toMatch(message);
  });

  it('quotes what RDS said in trap messages', () => {
    expect(classifyRdsError(trap('not enough space')).message).toContain('RDS said "not enough space"');
  });

  it('every row of the trap table names its source', () => {
    for (const row of TRAP_TEXTS) expect(row.source).toMatch(/^[DCIU] /);
    for (const c of Object.values(TRAP_CATEGORIES)) expect(c?.source).toMatch(/^D /);
  });

  it('passes an RdsError through unchanged', () => {
    const original = new RdsError('internal', 'x');
    expect(classifyRdsError(original, 'ctx')).toBe(original);
  });
});
