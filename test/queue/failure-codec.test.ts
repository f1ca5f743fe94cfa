import { FAILURE_KINDS } from '../../src/domain/failure';
import { decodeJobFailure, encodeJobFailure, isLegacyFailure } from '../../src/queue/failure-codec';

describe('failure codec (a Failure in a job failedReason)', () => {
  it.each(FAILURE_KINDS)('round-trips kind %s with its message', (kind) => {
    const message = `disk "pvc-1" [x] {y}\nsecond line: ${kind}`;
    expect(decodeJobFailure(encodeJobFailure({ kind, message }))).toEqual({ kind, message });
  });

  it.each<[string, string, ReturnType<typeof decodeJobFailure>]>([
    [
      'legacy [CODE] prefix of an older worker',
      '[NOT_FOUND] disk pvc-1 does not exist on RDS',
      { code: 'NOT_FOUND', message: 'disk pvc-1 does not exist on RDS' },
    ],
    ['legacy prefix, multi-line message', '[FAILED_PRECONDITION] a\nb', { code: 'FAILED_PRECONDITION', message: 'a\nb' }],
    ['a plain transient message', 'RDS unreachable (ECONNREFUSED)', undefined],
    ['a plain message that starts with a brace', '{not json', undefined],
    ['JSON that is not ours', '{"kind":"invalid","message":"m"}', undefined],
    ['our mark with a kind that does not exist', '{"rds-csi-failure":1,"kind":"gone","message":"m"}', undefined],
    ['our mark without a message', '{"rds-csi-failure":1,"kind":"invalid"}', undefined],
  ])('decodes %s', (_name, reason, want) => {
    const got = decodeJobFailure(reason);
    expect(got).toEqual(want);
    if (got) expect(isLegacyFailure(got)).toBe('code' in (want ?? {}));
  });
});
