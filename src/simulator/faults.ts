/**
 * Fault injection, settable at start and at run time (in process through FaultController, out of process through
 * the `/simulator/fault/*` admin commands). Admin commands are never subject to faults.
 */

/** `'7.18'`: zero-row print answers `!empty` then `!done` (RouterOS ≥ 7.18); `'legacy'`: `!done` alone. */
export type EmptyMode = '7.18' | 'legacy';

export interface TrapRule {
  /** Command path to match exactly (`/disk/add`), or `*` for every command. */
  command: string;
  message: string;
  category?: number;
  /** Further messages, each its own `!trap` before the `!done` (a multi-trap reply, ROUTEROS-FACTS.md). */
  more?: string[];
  /** Commands still to trap; `Infinity` = until cleared. */
  remaining: number;
}

export interface FaultSettings {
  /** Delay before each command runs; commands in flight overlap (the delay is per command, not serialized). */
  latencyMs: number;
  /** Extra uniformly random delay in [0, jitterMs) per command. */
  jitterMs: number;
  /** Close the connection on the next N commands. */
  dropNext: number;
  /** Probability (0..1) to close the connection on any command. */
  dropProbability: number;
  /** `before`: close without running the command; `after`: run it, then close without answering. */
  dropMode: 'before' | 'after';
  /** Chaos mode: write replies in pieces of this many bytes (0 = one write per sentence). */
  fragmentBytes: number;
  /** When set, the next command is answered with `!fatal <reason>` and the connection closes. */
  fatalNext: string | null;
  emptyMode: EmptyMode;
  /**
   * Throughput of `/disk add copy-from=`: a copy takes (allocated bytes of the source, st_blocks × 512) / this many
   * seconds, at least as long as the real copy. Re-read while a copy runs, so a change applies to copies in flight
   * (e.g. 1 holds a copy open, 0 releases it). 0 = unthrottled.
   */
  copyBytesPerSecond: number;
  /** Not listening: new connections are refused and open ones were closed. */
  down: boolean;
  traps: TrapRule[];
}

export interface FaultDecision {
  fatal?: string;
  drop?: 'before' | 'after';
  trap?: { message: string; category?: number; more?: string[] };
  delayMs: number;
}

export interface FaultController {
  get(): FaultSettings;
  set(partial: Partial<FaultSettings>): void;
  /** Back to defaults (and up again if down). */
  clear(): void;
  trapNext(command: string, message: string, count?: number, category?: number, more?: string[]): void;
  fatalNext(reason?: string): void;
  dropNext(n: number): void;
  /** Stops listening and closes open connections (`true`), or listens again on the same port (`false`). */
  setDown(down: boolean): Promise<void>;
}

export const DEFAULT_FATAL_REASON = 'simulated fatal error';

/** Default copy throughput: 512 MiB/s, about what a mostly idle NVMe RAID copies while serving I/O. */
export const DEFAULT_COPY_BYTES_PER_SECOND = 512 * 1024 * 1024;

export function defaultFaults(): FaultSettings {
  return {
    latencyMs: 0,
    jitterMs: 0,
    dropNext: 0,
    dropProbability: 0,
    dropMode: 'before',
    fragmentBytes: 0,
    fatalNext: null,
    emptyMode: '7.18',
    copyBytesPerSecond: DEFAULT_COPY_BYTES_PER_SECOND,
    down: false,
    traps: [],
  };
}

export class Faults implements FaultController {
  private settings: FaultSettings;
  /** Installed by the server: applies `down`. */
  downHandler: (down: boolean) => Promise<void> = () => Promise.resolve();
  onError: (e: unknown) => void = () => undefined;

  constructor(initial: Partial<FaultSettings> = {}) {
    this.settings = { ...defaultFaults(), ...initial, down: false, traps: [...(initial.traps ?? [])] };
  }

  get(): FaultSettings {
    return { ...this.settings, traps: this.settings.traps.map((t) => ({ ...t })) };
  }

  set(partial: Partial<FaultSettings>): void {
    const { down, ...rest } = partial;
    this.settings = { ...this.settings, ...rest };
    if (down !== undefined && down !== this.settings.down) this.setDown(down).catch(this.onError);
  }

  clear(): void {
    const wasDown = this.settings.down;
    this.settings = { ...defaultFaults(), down: wasDown };
    if (wasDown) this.setDown(false).catch(this.onError);
  }

  trapNext(command: string, message: string, count = 1, category?: number, more?: string[]): void {
    this.settings.traps.push({ command, message, category, more, remaining: count });
  }

  fatalNext(reason = DEFAULT_FATAL_REASON): void {
    this.settings.fatalNext = reason;
  }

  dropNext(n: number): void {
    this.settings.dropNext = n;
  }

  async setDown(down: boolean): Promise<void> {
    this.settings.down = down;
    await this.downHandler(down);
  }

  get emptyMode(): EmptyMode {
    return this.settings.emptyMode;
  }

  get fragmentBytes(): number {
    return this.settings.fragmentBytes;
  }

  get copyBytesPerSecond(): number {
    return this.settings.copyBytesPerSecond;
  }

  /** Decides (and consumes one-shot faults) for one incoming command. */
  decide(path: string): FaultDecision {
    const s = this.settings;
    const delayMs = s.latencyMs + (s.jitterMs > 0 ? Math.random() * s.jitterMs : 0);
    if (s.fatalNext !== null) {
      const fatal = s.fatalNext;
      s.fatalNext = null;
      return { fatal, delayMs: 0 };
    }
    if (s.dropNext > 0) {
      s.dropNext--;
      return { drop: s.dropMode, delayMs };
    }
    if (s.dropProbability > 0 && Math.random() < s.dropProbability) return { drop: s.dropMode, delayMs };
    const rule = s.traps.find((t) => t.remaining > 0 && (t.command === '*' || t.command === path));
    if (rule) {
      rule.remaining--;
      s.traps = s.traps.filter((t) => t.remaining > 0);
      return { trap: { message: rule.message, category: rule.category, more: rule.more }, delayMs };
    }
    return { delayMs };
  }
}
