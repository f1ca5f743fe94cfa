import { status } from '@grpc/grpc-js';
import { RosException } from 'node-routeros';
import { classifyRdsError, RdsError, RosTransportError, type RdsErrorKind } from '../../src/rds/errors';

/** A RouterOS !trap as node-routeros reports it: a plain Error carrying only the trap's message. */
const trap = (message: string): Error => new Error(message);

const cases: Array<[string, unknown, RdsErrorKind, status, RegExp | null]> = [
  ['no such item', trap('no such item'), 'not-found', status.NOT_FOUND, null],
  ['old no such item (4)', trap('no such item (4)'), 'not-found', status.NOT_FOUND, null],
  ['not enough space', trap('not enough space'), 'permanent', status.RESOURCE_EXHAUSTED, /pool is full/],
  ['no space left', trap('failure: no space left on device'), 'permanent', status.RESOURCE_EXHAUSTED, null],
  ['invalid value', trap('invalid value for argument file-size'), 'permanent', status.INVALID_ARGUMENT, null],
  ['failure: prefix', trap('failure: could not create file'), 'permanent', status.INVALID_ARGUMENT, null],
  ['bad argument', trap('bad argument'), 'permanent', status.INVALID_ARGUMENT, null],
  ['expected end of command', trap('expected end of command (line 1 column 5)'), 'permanent', status.INVALID_ARGUMENT, null],
  ['input does not match', trap('input does not match any value of type'), 'permanent', status.INVALID_ARGUMENT, null],
  ['unknown parameter', trap('unknown parameter foo'), 'permanent', status.INVALID_ARGUMENT, null],
  ['already have such', trap('failure: already have such name'), 'permanent', status.FAILED_PRECONDITION, null],
  ['file already exists', trap('file already exists'), 'permanent', status.FAILED_PRECONDITION, null],
  ['disk is in use', trap('disk is in use'), 'permanent', status.FAILED_PRECONDITION, null],
  ['not enough privileges', trap('not enough privileges'), 'permanent', status.FAILED_PRECONDITION, /policies/],
  ['no such command', trap('no such command or directory (disk)'), 'permanent', status.UNIMPLEMENTED, null],
  ['busy', trap('device busy'), 'transient', status.UNAVAILABLE, null],
  ['try again', trap('action failed, try again later'), 'transient', status.UNAVAILABLE, null],
  ['interrupted', trap('interrupted'), 'transient', status.UNAVAILABLE, null],
  ['unknown trap', trap('something odd happened'), 'permanent', status.UNKNOWN, /something odd happened/],
  ['empty trap', trap(''), 'permanent', status.UNKNOWN, null],
  ['login refused', new RosException('CANTLOGIN'), 'permanent', status.FAILED_PRECONDITION, /password/],
  ['refused (numeric errno)', new RosException(-111 as unknown as string), 'transient', status.UNAVAILABLE, /ECONNREFUSED/],
  ['reset (numeric errno)', new RosException(-104 as unknown as string), 'transient', status.UNAVAILABLE, /ECONNRESET/],
  ['socket idle timeout', new RosException('SOCKTMOUT', { seconds: 10 }), 'transient', status.UNAVAILABLE, null],
  ['RosException without details', new RosException(undefined as unknown as string), 'transient', status.UNAVAILABLE, null],
  ['TLS verification', Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), 'permanent', status.FAILED_PRECONDITION, /pinned CA/],
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
    expect(e.kind).toBe(kind);
    expect(e.grpcCode).toBe(code);
    expect(e.cause).toBe(input);
    expect(e.message).toContain('/disk/add slot=pvc-1');
    if (message) expect(e.message).toMatch(message);
  });

  it('quotes what RDS said in trap messages', () => {
    expect(classifyRdsError(trap('not enough space')).message).toContain('RDS said "not enough space"');
  });

  it('passes an RdsError through unchanged', () => {
    const original = new RdsError('permanent', status.INTERNAL, 'x');
    expect(classifyRdsError(original, 'ctx')).toBe(original);
  });
});
