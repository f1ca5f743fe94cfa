/**
 * Ordered reply writer. Normally each sentence goes out in one socket write. In the deliberate chaos mode
 * `fragmentBytes > 0` every sentence is cut into pieces of that many bytes written ~1 ms apart, so clients see
 * length prefixes and words split across TCP reads (docs/ARCHITECTURE.md RouterOS §3.6, §4 item 1).
 */
import type { Socket } from 'node:net';

export class Outbox {
  private readonly queue: Buffer[] = [];
  private pumping = false;
  private endRequested = false;

  constructor(
    private readonly socket: Socket,
    private readonly fragmentBytes: () => number,
  ) {}

  write(buf: Buffer): void {
    if (this.socket.destroyed) return;
    const n = this.fragmentBytes();
    if (n <= 0 && !this.pumping) {
      this.socket.write(buf);
      return;
    }
    const step = n > 0 ? n : buf.length;
    for (let i = 0; i < buf.length; i += step) this.queue.push(buf.subarray(i, i + step));
    this.pump();
  }

  /** Half-closes after everything queued was written. */
  end(): void {
    if (this.pumping) this.endRequested = true;
    else this.socket.end();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const next = (): void => {
      const piece = this.queue.shift();
      if (piece === undefined || this.socket.destroyed) {
        this.queue.length = 0;
        this.pumping = false;
        if (this.endRequested) this.socket.end();
        return;
      }
      this.socket.write(piece);
      setTimeout(next, 1);
    };
    next();
  }
}
