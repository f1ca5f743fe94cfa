import { status } from '@grpc/grpc-js';
import { FAILURE_KINDS, Failure, retryLater, type FailureKind } from '../../src/domain/failure';
import { STATUS_OF_KIND, codeName, kindOfStatus, statusOf } from '../../src/grpc/errors';

/**
 * The one mapping of failure kinds to gRPC codes (src/grpc/errors.ts). Every code a client saw before the failure
 * vocabulary existed must still come out of exactly one kind.
 */
const TABLE: Array<[FailureKind, status, { transient: boolean; retryLater: boolean }]> = [
  ['invalid', status.INVALID_ARGUMENT, { transient: false, retryLater: false }],
  ['not-found', status.NOT_FOUND, { transient: false, retryLater: false }],
  ['conflict', status.ALREADY_EXISTS, { transient: false, retryLater: false }],
  ['exhausted', status.RESOURCE_EXHAUSTED, { transient: false, retryLater: false }],
  ['precondition', status.FAILED_PRECONDITION, { transient: false, retryLater: false }],
  ['aborted', status.ABORTED, { transient: false, retryLater: true }],
  ['out-of-range', status.OUT_OF_RANGE, { transient: false, retryLater: false }],
  ['unavailable', status.UNAVAILABLE, { transient: true, retryLater: true }],
  ['timeout', status.DEADLINE_EXCEEDED, { transient: true, retryLater: true }],
  ['unsupported', status.UNIMPLEMENTED, { transient: false, retryLater: false }],
  ['internal', status.INTERNAL, { transient: false, retryLater: false }],
  ['unknown', status.UNKNOWN, { transient: false, retryLater: false }],
];

describe('failure kind → gRPC status', () => {
  it.each(TABLE)('%s is answered %p', (kind, code, retry) => {
    const f = new Failure(kind, 'm');
    expect(statusOf(f)).toBe(code);
    expect(kindOfStatus(code)).toBe(kind);
    expect({ transient: f.transient, retryLater: retryLater(f) }).toEqual(retry);
  });

  it('the table covers every kind, and no two kinds share a code', () => {
    expect(TABLE.map(([k]) => k).sort()).toEqual([...FAILURE_KINDS].sort());
    expect(new Set(Object.values(STATUS_OF_KIND)).size).toBe(FAILURE_KINDS.length);
  });

  it('anything that is not a Failure is INTERNAL; OK and codes no kind stands for map to no kind', () => {
    expect(statusOf(new Error('boom'))).toBe(status.INTERNAL);
    expect(statusOf('text')).toBe(status.INTERNAL);
    expect(kindOfStatus(status.OK)).toBeUndefined();
    expect(kindOfStatus(status.PERMISSION_DENIED)).toBeUndefined();
    expect(codeName(status.ABORTED)).toBe('ABORTED');
  });
});
