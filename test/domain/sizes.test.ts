import { decideSize } from '../../src/domain/sizes';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const limits = { minBytes: MiB, maxBytes: 100 * GiB, defaultBytes: GiB };

describe('decideSize', () => {
  it.each([
    ['exact request', GiB, 0, { ok: true, bytes: GiB }],
    ['default when nothing asked', 0, 0, { ok: true, bytes: GiB }],
    ['default capped by limit', 0, 512 * MiB, { ok: true, bytes: 512 * MiB }],
    ['rounded up to 4 KiB, never down', GiB + 1, 0, { ok: true, bytes: GiB + 4096 }],
    ['raised to the minimum', 1000, 0, { ok: true, bytes: MiB }],
    ['required above maximum', 101 * GiB, 0, { ok: false, code: 'OUT_OF_RANGE' }],
    ['limit below minimum', 0, 1000, { ok: false, code: 'OUT_OF_RANGE' }],
    ['required above limit', 2 * GiB, GiB, { ok: false, code: 'INVALID_ARGUMENT' }],
    ['negative', -1, 0, { ok: false, code: 'INVALID_ARGUMENT' }],
    ['rounding would pass the limit', GiB + 1, GiB + 2, { ok: false, code: 'OUT_OF_RANGE' }],
  ])('%s', (_what, required, limit, expected) => {
    expect(decideSize(required, limit, limits)).toMatchObject(expected);
  });
});
