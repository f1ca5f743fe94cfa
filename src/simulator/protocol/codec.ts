/**
 * Sentence framing: a sentence is a list of length-prefixed words ended by a zero-length word.
 * Words are decoded as latin1 so every byte maps to exactly one code unit (byte-faithful, like RouterOS which
 * declares no character set; equal to node-routeros' win1252 for ASCII).
 */
import { decodeLength, encodeLength } from './length';

export type Sentence = string[];

/** Encodes one word (latin1 bytes) with its prefix. */
export function encodeWord(word: string): Buffer {
  const body = Buffer.from(word, 'latin1');
  return Buffer.concat([encodeLength(body.length), body]);
}

/** Encodes a whole sentence including the terminating zero-length word, as one buffer (one socket write). */
export function encodeSentence(words: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const w of words) {
    const body = Buffer.from(w, 'latin1');
    parts.push(encodeLength(body.length), body);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/**
 * Streaming decoder that accepts any chunking. Chunks are kept in a list and only joined once a whole word is
 * available, so large words arriving in many reads cost one copy.
 * Throws ProtocolError (from length.ts) on a reserved control byte; the stream cannot continue after that.
 */
export class SentenceDecoder {
  private chunks: Buffer[] = [];
  private available = 0;
  private words: string[] = [];

  /** Feeds bytes and returns every sentence completed by them. Empty sentences are dropped (docs/ARCHITECTURE.md RouterOS §1.1). */
  push(chunk: Buffer): Sentence[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.available += chunk.length;
    }
    const out: Sentence[] = [];
    for (;;) {
      const head = this.head(Math.min(5, this.available));
      const len = decodeLength(head);
      if (len === null) break;
      const total = len.size + len.length;
      if (this.available < total) break;
      const buf = this.take(total);
      if (len.length === 0) {
        if (this.words.length > 0) out.push(this.words);
        this.words = [];
      } else {
        this.words.push(buf.toString('latin1', len.size));
      }
    }
    return out;
  }

  /** Words of the sentence currently being received (for diagnostics). */
  get pendingWords(): number {
    return this.words.length;
  }

  /** Bytes received but not yet part of a complete word. */
  get bufferedBytes(): number {
    return this.available;
  }

  /** Returns (without consuming) at least n leading bytes, joining chunks only as needed. */
  private head(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    this.coalesce(n);
    return this.chunks[0];
  }

  private take(n: number): Buffer {
    this.coalesce(n);
    const first = this.chunks[0];
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.available -= n;
    return out;
  }

  private coalesce(n: number): void {
    if (this.chunks[0].length >= n) return;
    let count = 0;
    let size = 0;
    while (size < n) size += this.chunks[count++].length;
    const joined = Buffer.concat(this.chunks.slice(0, count), size);
    this.chunks.splice(0, count, joined);
  }
}
