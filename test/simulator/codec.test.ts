import { encodeSentence, encodeWord, SentenceDecoder } from '../../src/simulator/protocol/codec';
import { ProtocolError } from '../../src/simulator/protocol/length';

describe('sentence codec', () => {
  it('encodes a sentence with a zero-length terminator', () => {
    expect(encodeSentence(['!done', '.tag=a']).toString('hex')).toBe(
      '05' + Buffer.from('!done').toString('hex') + '06' + Buffer.from('.tag=a').toString('hex') + '00',
    );
  });

  it('counts bytes, not characters, and is byte-faithful (latin1)', () => {
    const word = 'caf\u00e9\u00ff';
    expect(encodeWord(word).toString('hex')).toBe('05636166e9ff');
    const [s] = new SentenceDecoder().push(encodeSentence([word]));
    expect(s).toEqual([word]);
  });

  const sizes = [0, 1, 127, 128, 300, 16383, 16384, 2097151, 2097152];
  it.each(sizes)('round-trips a %d byte word in one chunk and in 7-byte chunks', (n) => {
    const word = n === 0 ? '' : 'x'.repeat(n - 1) + 'y';
    const buf = encodeSentence(['/cmd', `=v=${word}`, word === '' ? 'z' : word]);
    expect(new SentenceDecoder().push(buf)).toEqual([['/cmd', `=v=${word}`, word === '' ? 'z' : word]]);
    if (n <= 16384) {
      const d = new SentenceDecoder();
      const out = [];
      for (let i = 0; i < buf.length; i += 7) out.push(...d.push(buf.subarray(i, i + 7)));
      expect(out).toEqual([['/cmd', `=v=${word}`, word === '' ? 'z' : word]]);
    }
  });

  it('accepts byte-by-byte delivery (length prefix split across reads)', () => {
    const sentences = [
      ['/login', '=name=admin', '=password=' + 'p'.repeat(300)],
      ['/disk/print', '?slot=' + 's'.repeat(16384), '.tag=7'],
    ];
    const buf = Buffer.concat(sentences.map(encodeSentence));
    const d = new SentenceDecoder();
    const out: string[][] = [];
    for (const byte of buf) out.push(...d.push(Buffer.from([byte])));
    expect(out).toEqual(sentences);
    expect(d.bufferedBytes).toBe(0);
  });

  it('returns several sentences from one chunk and ignores empty sentences', () => {
    const buf = Buffer.concat([encodeSentence(['a']), Buffer.from([0]), encodeSentence(['b', 'c'])]);
    expect(new SentenceDecoder().push(buf)).toEqual([['a'], ['b', 'c']]);
  });

  it('keeps a partial sentence until its terminator arrives', () => {
    const d = new SentenceDecoder();
    const buf = encodeSentence(['/a', '=b=c']);
    expect(d.push(buf.subarray(0, buf.length - 1))).toEqual([]);
    expect(d.pendingWords).toBe(2);
    expect(d.push(buf.subarray(buf.length - 1))).toEqual([['/a', '=b=c']]);
  });

  it('throws on a reserved control byte', () => {
    expect(() => new SentenceDecoder().push(Buffer.from([0xf8, 1, 2, 3, 4]))).toThrow(ProtocolError);
  });
});
