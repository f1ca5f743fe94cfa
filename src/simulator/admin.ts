/**
 * Admin commands over the wire, so out-of-process tests can steer the simulator (never subject to faults):
 *   /simulator/fault/set   =latency-ms= =jitter-ms= =empty-mode=7.18|legacy =trap-command= =trap-message=
 *                          =trap-category= =trap-count= (-1 = until cleared) =trap-more-message= (a second !trap) =fatal-next=yes|no =fatal-reason=
 *                          =drop-next= =drop-probability= =drop-mode=before|after =fragment-bytes=
 *                          =down=yes|no =down-for-ms= =copy-bytes-per-second= (0 = unthrottled)
 *   /simulator/fault/clear
 *   /simulator/fault/print → one !re with the current settings
 *   /simulator/stats/print → one !re `=<command path>=<count>` per command path received
 *   /simulator/stats/reset
 *   /simulator/pool/set    =mounted=yes|no (the pool's file system mounted or not: SimModel.poolMounted)
 *   /simulator/copy/print  → one !re per `copy-from` copy in flight: slot, file-path, source, size, allocated, elapsed-ms
 */
import type { Command, CommandResult, Handler } from './command';
import { TrapError } from './errors';
import { DEFAULT_FATAL_REASON, type FaultSettings, type Faults } from './faults';
import type { SimModel } from './model/model';
import type { Stats } from './stats';
import { parseBool } from './values';

const FAULT_KEYS = [
  'latency-ms',
  'jitter-ms',
  'empty-mode',
  'trap-command',
  'trap-message',
  'trap-category',
  'trap-count',
  'fatal-next',
  'fatal-reason',
  'drop-next',
  'drop-probability',
  'drop-mode',
  'fragment-bytes',
  'down',
  'down-for-ms',
  'copy-bytes-per-second',
  'trap-more-message',
];

function num(text: string, prop: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new TrapError(`invalid value for ${prop}`, 1);
  return n;
}

function faultSet(faults: Faults, cmd: Command): CommandResult {
  const a = cmd.attrs;
  for (const k of a.keys()) if (!FAULT_KEYS.includes(k)) throw new TrapError(`unknown parameter ${k}`);
  const p: Partial<FaultSettings> = {};
  const get = (k: string): string | undefined => a.get(k);
  const v = (k: string): string => a.get(k) ?? '';
  if (a.has('latency-ms')) p.latencyMs = num(v('latency-ms'), 'latency-ms');
  if (a.has('jitter-ms')) p.jitterMs = num(v('jitter-ms'), 'jitter-ms');
  if (a.has('drop-next')) p.dropNext = num(v('drop-next'), 'drop-next');
  if (a.has('fragment-bytes')) p.fragmentBytes = num(v('fragment-bytes'), 'fragment-bytes');
  if (a.has('copy-bytes-per-second')) p.copyBytesPerSecond = num(v('copy-bytes-per-second'), 'copy-bytes-per-second');
  if (a.has('drop-probability')) p.dropProbability = num(v('drop-probability'), 'drop-probability', 0, 1);
  const mode = get('empty-mode');
  if (mode !== undefined) {
    if (mode !== '7.18' && mode !== 'legacy') throw new TrapError('input does not match any value of empty-mode', 1);
    p.emptyMode = mode;
  }
  const dropMode = get('drop-mode');
  if (dropMode !== undefined) {
    if (dropMode !== 'before' && dropMode !== 'after') throw new TrapError('input does not match any value of drop-mode', 1);
    p.dropMode = dropMode;
  }
  if (a.has('fatal-next')) {
    p.fatalNext = parseBool(v('fatal-next'), 'fatal-next') ? (get('fatal-reason') ?? DEFAULT_FATAL_REASON) : null;
  }
  const trapCommand = get('trap-command');
  if (trapCommand !== undefined) {
    const count = a.has('trap-count') ? num(v('trap-count'), 'trap-count', -1) : 1;
    const category = a.has('trap-category') ? num(v('trap-category'), 'trap-category', 0, 7) : undefined;
    const more = get('trap-more-message');
    faults.trapNext(
      trapCommand,
      get('trap-message') ?? 'simulated failure',
      count < 0 ? Infinity : count,
      category,
      more === undefined ? undefined : [more],
    );
  }
  faults.set(p);
  const down = get('down');
  const downFor = a.has('down-for-ms') ? num(v('down-for-ms'), 'down-for-ms') : undefined;
  if (down !== undefined || downFor !== undefined) {
    const goDown = downFor !== undefined || parseBool(down ?? 'no', 'down');
    // Apply after this reply went out: going down closes this very connection.
    setTimeout(() => {
      faults.set({ down: goDown });
      if (goDown && downFor !== undefined) setTimeout(() => faults.set({ down: false }), downFor).unref();
    }, 20).unref();
  }
  return { rows: [] };
}

function faultPrint(faults: Faults): CommandResult {
  const s = faults.get();
  return {
    rows: [
      {
        'latency-ms': String(s.latencyMs),
        'jitter-ms': String(s.jitterMs),
        'drop-next': String(s.dropNext),
        'drop-probability': String(s.dropProbability),
        'drop-mode': s.dropMode,
        'fragment-bytes': String(s.fragmentBytes),
        'fatal-next': s.fatalNext ?? '',
        'empty-mode': s.emptyMode,
        'copy-bytes-per-second': String(s.copyBytesPerSecond),
        down: s.down ? 'true' : 'false',
        traps: s.traps.map((t) => `${t.command}:${t.remaining}:${t.message}`).join(';'),
      },
    ],
  };
}

function copyPrint(model: SimModel): CommandResult {
  const now = Date.now();
  return {
    rows: [...model.copies.values()].map((c) => ({
      slot: c.slot,
      'file-path': c.filePath,
      source: c.sourceId,
      size: String(c.size),
      allocated: String(c.allocatedBytes),
      'elapsed-ms': String(now - c.startedAt.getTime()),
    })),
  };
}

export function adminHandlers(faults: Faults, stats: Stats, model: SimModel): Record<string, Handler> {
  return {
    '/simulator/copy/print': () => copyPrint(model),
    '/simulator/pool/set': (cmd) => {
      for (const k of cmd.attrs.keys()) if (k !== 'mounted') throw new TrapError(`unknown parameter ${k}`);
      const mounted = cmd.attrs.get('mounted');
      if (mounted !== undefined) model.poolMounted = parseBool(mounted, 'mounted');
      return { rows: [] };
    },
    '/simulator/fault/set': (cmd) => faultSet(faults, cmd),
    '/simulator/fault/clear': () => {
      faults.clear();
      return { rows: [] };
    },
    '/simulator/fault/print': () => faultPrint(faults),
    '/simulator/stats/print': () => ({ rows: [Object.fromEntries(Object.entries(stats.snapshot()).map(([k, n]) => [k, String(n)]))] }),
    '/simulator/stats/reset': () => {
      stats.reset();
      return { rows: [] };
    },
  };
}
