/** A raw RouterOS API test client: sends words, receives sentences, nothing hidden (no login logic, no !empty fixups). */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { encodeSentence, SentenceDecoder } from '../../src/simulator/protocol/codec';

export type Sentence = string[];

export function tagOf(s: Sentence): string | undefined {
  const w = s.find((x) => x.startsWith('.tag='));
  return w === undefined ? undefined : w.slice(5);
}

/** `=k=v` words of a sentence as an object. */
export function attrsOf(s: Sentence): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of s) {
    if (!w.startsWith('=')) continue;
    const eq = w.indexOf('=', 1);
    out[w.slice(1, eq)] = w.slice(eq + 1);
  }
  return out;
}

export class WireClient {
  private readonly decoder = new SentenceDecoder();
  private readonly buffer: Sentence[] = [];
  private waiters: Array<() => void> = [];
  private ended = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer.push(...this.decoder.push(chunk));
      this.wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.ended = true;
        this.wake();
        resolve();
      }),
    );
  }

  static connect(port: number, host = '127.0.0.1', tlsOpts?: tls.ConnectionOptions): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = tlsOpts
        ? tls.connect({ port, host, ...tlsOpts }, () => resolve(new WireClient(socket)))
        : net.connect({ port, host }, () => resolve(new WireClient(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean {
    return this.ended;
  }

  /** Sentences received and not yet taken. */
  unread(): Sentence[] {
    return [...this.buffer];
  }

  /** Waits for the peer to close the connection; fails (instead of hanging to the test timeout) if it stays open. */
  async closedWithin(timeoutMs = 3000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const open = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms; received: ${JSON.stringify(this.buffer)}`)), timeoutMs);
    });
    try {
      await Promise.race([this.closed, open]);
    } finally {
      clearTimeout(timer);
    }
  }

  send(words: string[]): void {
    this.socket.write(encodeSentence(words));
  }

  sendRaw(buf: Buffer): void {
    this.socket.write(buf);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Removes and returns the first received sentence matching `pred`, waiting up to `timeoutMs`. */
  async take(pred: (s: Sentence) => boolean = () => true, timeoutMs = 3000): Promise<Sentence> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buffer.findIndex(pred);
      if (i >= 0) return this.buffer.splice(i, 1)[0];
      if (this.ended) throw new Error('connection closed while waiting for a sentence');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for a sentence; buffered: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sentences for `tag` (or untagged ones) up to and including `!done`, or a `!fatal`. */
  async collect(tag?: string, timeoutMs = 3000): Promise<Sentence[]> {
    const out: Sentence[] = [];
    for (;;) {
      const s = await this.take((x) => x[0] === '!fatal' || tagOf(x) === tag, timeoutMs);
      out.push(s);
      if (s[0] === '!done' || s[0] === '!fatal') return out;
    }
  }

  /** Sends a command (tagged when `tag` is given) and collects its replies. */
  async call(words: string[], tag?: string, timeoutMs = 3000): Promise<Sentence[]> {
    this.send(tag === undefined ? words : [...words, `.tag=${tag}`]);
    return this.collect(tag, timeoutMs);
  }

  async login(name = 'admin', password = ''): Promise<void> {
    const r = await this.call(['/login', `=name=${name}`, `=password=${password}`]);
    if (r.length !== 1 || r[0].length !== 1 || r[0][0] !== '!done') throw new Error(`login failed: ${JSON.stringify(r)}`);
  }

  /** Rows (`!re` attributes) of a print-like reply. */
  static rows(reply: Sentence[]): Array<Record<string, string>> {
    return reply.filter((s) => s[0] === '!re').map(attrsOf);
  }

  close(): void {
    this.socket.destroy();
  }
}
