import { decodeToken, encodeToken } from '../../src/api/page-token';

describe('page tokens', () => {
  it('round-trips an id', () => {
    expect(decodeToken(encodeToken('pvc-1'))).toBe('pvc-1');
  });
  it.each(['pvc-1', 'garbage!', Buffer.from('v2:pvc-1').toString('base64url'), Buffer.from('v1:../x').toString('base64url'), ''])(
    'rejects %p',
    (token) => {
      expect(decodeToken(token)).toBeUndefined();
    },
  );
});
