/**
 * RouterOS API word length prefix (docs/ARCHITECTURE.md RouterOS §1.2): big-endian, 1 to 5 bytes, marker bits in the
 * first byte. The length always counts bytes of the word's content, never characters.
 */

/** Thrown for a first byte in the reserved control range (0xF8..0xFF) or any other framing violation. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export const MAX_WORD_LENGTH = 0xffffffff;

/** Encodes a content length into its 1..5 byte prefix. */
export function encodeLength(len: number): Buffer {
  if (!Number.isInteger(len) || len < 0 || len > MAX_WORD_LENGTH) {
    throw new RangeError(`word length out of range: ${len}`);
  }
  if (len < 0x80) return Buffer.from([len]);
  if (len < 0x4000) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(len | 0x8000, 0);
    return b;
  }
  if (len < 0x200000) {
    const v = len | 0xc00000;
    return Buffer.from([(v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
  }
  if (len < 0x10000000) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE((len | 0xe0000000) >>> 0, 0);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = 0xf0;
  b.writeUInt32BE(len >>> 0, 1);
  return b;
}

/**
 * How many prefix bytes a word whose prefix starts with `first` has. 0xF0..0xF7 are taken as the 5-byte form
 * (0xF0 is documented; 0xF1..0xF7 are undefined, accepted like node-routeros does); 0xF8..0xFF throw.
 */
export function prefixSize(first: number): number {
  if (first < 0x80) return 1;
  if (first < 0xc0) return 2;
  if (first < 0xe0) return 3;
  if (first < 0xf0) return 4;
  if (first < 0xf8) return 5;
  throw new ProtocolError(`reserved control byte 0x${first.toString(16)} in word length`);
}

/**
 * Decodes a length prefix at `offset`. Returns null when `buf` does not yet hold the whole prefix
 * (a prefix may be split across TCP reads).
 */
export function decodeLength(buf: Buffer, offset = 0): { length: number; size: number } | null {
  if (offset >= buf.length) return null;
  const first = buf[offset];
  const size = prefixSize(first);
  if (buf.length - offset < size) return null;
  switch (size) {
    case 1:
      return { length: first, size };
    case 2:
      return { length: ((first & 0x3f) << 8) | buf[offset + 1], size };
    case 3:
      return { length: ((first & 0x1f) << 16) | (buf[offset + 1] << 8) | buf[offset + 2], size };
    case 4:
      return { length: (first & 0x0f) * 0x1000000 + buf.readUIntBE(offset + 1, 3), size };
    default:
      return { length: buf.readUInt32BE(offset + 1), size };
  }
}
