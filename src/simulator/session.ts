/**
 * One API connection: framing, login, `.tag` echo, concurrent command execution with replies written as whole
 * sentences (one socket write each), `/cancel`, `/quit`, `#`, `!fatal`, and the fault decisions.
 */
import type { Socket } from 'node:net';
import { parseSentence, rowWords, type Command, type CommandResult, type Handler } from './command';
import { FatalError, TrapError } from './errors';
import type { FaultDecision, Faults } from './faults';
import { encodeSentence } from './protocol/codec';
import { SentenceDecoder } from './protocol/codec';
import { Outbox } from './protocol/outbox';
import type { Router } from './router';
import type { Stats } from './stats';
import { sleep } from './util/sleep';

export interface SessionDeps {
  router: Router;
  faults: Faults;
  stats: Stats;
  user: string;
  password: string;
  log: (obj: object, msg: string) => void;
}

interface InFlight {
  tag?: string;
  ctl: AbortController;
  /** Past the latency phase: the command runs and can no longer be interrupted. */
  running: boolean;
  /** Final reply sent (or suppressed): nothing more may go out for it. */
  finished: boolean;
}

export const LOGIN_FAILED = 'invalid user name or password (6)';

/** Before login only small sentences are accepted (docs/ARCHITECTURE.md RouterOS §1.1); more buffered bytes close the connection. */
export const PRE_LOGIN_MAX_BYTES = 64 * 1024;

export class Session {
  private readonly decoder = new SentenceDecoder();
  private loggedIn = false;
  private closed = false;
  private readonly inflight = new Set<InFlight>();
  private readonly outbox: Outbox;

  constructor(
    private readonly socket: Socket,
    private readonly deps: SessionDeps,
  ) {
    this.outbox = new Outbox(socket, () => deps.faults.fragmentBytes);
  }

  start(): void {
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.deps.log({ err: err.message }, 'socket error'));
    this.socket.on('close', () => this.shutdown());
  }

  /** Closes abruptly (RST-like); pending commands get no answer. */
  destroy(): void {
    this.shutdown();
    this.socket.destroy();
  }

  private shutdown(): void {
    this.closed = true;
    for (const f of this.inflight) f.ctl.abort();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let sentences: string[][];
    try {
      sentences = this.decoder.push(chunk);
    } catch (e) {
      // A reserved control byte: the stream cannot be resynchronised.
      this.deps.log({ err: (e as Error).message }, 'protocol error, closing');
      this.destroy();
      return;
    }
    for (const words of sentences) {
      if (this.closed) return;
      this.dispatch(words);
    }
    if (!this.loggedIn && this.decoder.bufferedBytes > PRE_LOGIN_MAX_BYTES) {
      this.deps.log({ bytes: this.decoder.bufferedBytes }, 'oversized sentence before login, closing');
      this.destroy();
    }
  }

  private send(words: string[], tag?: string): void {
    if (this.closed) return;
    if (tag !== undefined) words.push(`.tag=${tag}`);
    this.outbox.write(encodeSentence(words));
  }

  /** Untagged `!fatal <reason>`, then close. */
  private fatal(reason: string): void {
    this.send(['!fatal', reason]);
    this.shutdown();
    this.outbox.end();
  }

  private dispatch(words: string[]): void {
    const cmd = parseSentence(words);
    this.deps.stats.inc(cmd.path);
    this.deps.log({ path: cmd.path, tag: cmd.tag }, 'command');
    if (cmd.path === '/quit') return this.fatal('session terminated on request');
    if (!this.loggedIn && cmd.path !== '/login') return this.fatal('not logged in');
    if (cmd.path.startsWith('/simulator/')) {
      this.run(cmd, { delayMs: 0 });
      return;
    }
    const decision = this.deps.faults.decide(cmd.path);
    if (decision.fatal !== undefined) return this.fatal(decision.fatal);
    if (decision.drop === 'before') return this.destroy();
    if (cmd.path === '/login') {
      // Decided on receipt so commands pipelined behind the login see the new state.
      this.loggedIn = cmd.attrs.get('name') === this.deps.user && cmd.attrs.get('password') === this.deps.password;
    }
    this.run(cmd, decision);
  }

  private handlerFor(cmd: Command): Handler {
    switch (cmd.path) {
      case '/login':
        return () => {
          if (!this.loggedIn) throw new TrapError(LOGIN_FAILED);
          return { rows: [] };
        };
      case '#':
        return () => ({ rows: [] });
      case '/cancel':
        return () => this.cancel(cmd);
      default:
        return this.deps.router.resolve(cmd.path);
    }
  }

  private run(cmd: Command, decision: FaultDecision): void {
    const entry: InFlight = { tag: cmd.tag, ctl: new AbortController(), running: false, finished: false };
    this.inflight.add(entry);
    this.execute(cmd, decision, entry)
      .catch((e: unknown) => this.deps.log({ err: String(e) }, 'command failed unexpectedly'))
      .finally(() => this.inflight.delete(entry));
  }

  private async execute(cmd: Command, decision: FaultDecision, entry: InFlight): Promise<void> {
    const elapsed = await sleep(decision.delayMs, entry.ctl.signal);
    if (!elapsed || entry.finished || this.closed) return;
    entry.running = true;
    let result: CommandResult | undefined;
    let error: unknown;
    try {
      if (decision.trap) throw new TrapError(decision.trap.message, decision.trap.category, decision.trap.more);
      result = await this.handlerFor(cmd)(cmd, entry.ctl.signal);
    } catch (e) {
      error = e;
    }
    if (entry.finished || this.closed) return;
    entry.finished = true;
    if (decision.drop === 'after') return this.destroy();
    if (error instanceof FatalError) return this.fatal(error.reason);
    if (error !== undefined) {
      if (error instanceof TrapError) return this.replyTrap(error, cmd.tag);
      const text = error instanceof Error ? error.message : JSON.stringify(error);
      this.deps.log({ err: text, path: cmd.path }, 'handler error');
      return this.replyTrap(new TrapError(`failure: ${text}`, 4), cmd.tag);
    }
    this.reply(result as CommandResult, cmd.tag);
  }

  private reply(result: CommandResult, tag: string | undefined): void {
    for (const row of result.rows) this.send(['!re', ...rowWords(row)], tag);
    if (result.emptyEligible && this.deps.faults.emptyMode === '7.18') this.send(['!empty'], tag);
    this.send(['!done', ...rowWords(result.done ?? {})], tag);
  }

  private replyTrap(trap: TrapError, tag: string | undefined): void {
    for (const message of [trap.message, ...trap.more]) {
      const words = ['!trap'];
      if (trap.category !== undefined) words.push(`=category=${trap.category}`);
      words.push(`=message=${message}`);
      this.send(words, tag);
    }
    this.send(['!done'], tag);
  }

  /**
   * `/cancel =tag=T` (or every command without `=tag=`): a command still waiting (injected latency) answers
   * `!trap =category=2 =message=interrupted` + `!done`. A command already running completes normally, as it would
   * on a router where it finished before the cancel arrived.
   */
  private cancel(cmd: Command): CommandResult {
    const target = cmd.attrs.get('tag');
    for (const f of this.inflight) {
      if (f.running || f.finished) continue;
      if (target !== undefined && f.tag !== target) continue;
      f.finished = true;
      f.ctl.abort();
      this.replyTrap(new TrapError('interrupted', 2), f.tag);
    }
    return { rows: [] };
  }
}
