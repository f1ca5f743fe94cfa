import { decodeLength, encodeLength, prefixSize, ProtocolError } from '../../src/simulator/protocol/length';

describe('word length prefix', () => {
  // Worked examples of docs/ARCHITECTURE.md RouterOS §1.2.
  const cases: Array<[number, string]> = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8080'],
    [300, '812c'],
    [16383, 'bfff'],
    [16384, 'c04000'],
    [2097151, 'dfffff'],
    [2097152, 'e0200000'],
    [268435455, 'efffffff'],
    [268435456, 'f010000000'],
    [0xffffffff, 'f0ffffffff'],
  ];

  it.each(cases)('encodes %d as %s and decodes it back', (len, hex) => {
    const enc = encodeLength(len);
    expect(enc.toString('hex')).toBe(hex);
    expect(decodeLength(enc)).toEqual({ length: len, size: enc.length });
    expect(prefixSize(enc[0])).toBe(enc.length);
  });

  it.each(cases)('returns null for every truncated prefix of %d', (len) => {
    const enc = encodeLength(len);
    for (let n = 0; n < enc.length; n++) expect(decodeLength(enc.subarray(0, n))).toBeNull();
  });

  it('decodes at an offset', () => {
    expect(decodeLength(Buffer.from([0xff, 0x81, 0x2c]), 1)).toEqual({ length: 300, size: 2 });
  });

  it.each([0xf8, 0xf9, 0xfe, 0xff])('rejects reserved control byte 0x%s', (b) => {
    expect(() => decodeLength(Buffer.from([b, 0, 0, 0, 0]))).toThrow(ProtocolError);
  });

  it('accepts 0xF1..0xF7 as the 5-byte form like node-routeros', () => {
    expect(decodeLength(Buffer.from([0xf3, 0, 0, 1, 0]))).toEqual({ length: 256, size: 5 });
  });

  it.each([-1, 1.5, 0x100000000])('refuses to encode %d', (len) => {
    expect(() => encodeLength(len)).toThrow(RangeError);
  });
});
