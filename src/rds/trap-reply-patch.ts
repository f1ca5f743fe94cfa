/**
 * Adapter for the `!trap` reply in node-routeros 1.6.9 (docs/ARCHITECTURE.md RouterOS §3.4): keeps the trap's category.
 *
 * Why: RouterOS answers a failed command with `!trap =message=<text>` and "on some occasions" `=category=<0..7>`
 * (MikroTik API manual, section "!trap": help.mikrotik.com/docs/spaces/ROS/pages/47579160/API). node-routeros parses
 * the whole sentence in `Channel.processPacket`, but `Channel.write` rejects with `new Error(data.message)`: the
 * category is dropped, and the driver could only guess from the text (trap-table.ts prefers the category).
 *
 * Fix, in the style of empty-reply-patch.ts: wrap the exported `Channel.prototype.processPacket` to note the first
 * `!trap` of a channel (the one node-routeros rejects with), and `Channel.prototype.write` to replace that rejection
 * by a RosTrapError carrying the same message and the category. Everything else is passed through untouched, so
 * node-routeros' own checks of the message (its login code compares `err.message`) still work. Applied once at
 * load by routeros-client.ts; applying it again is a no-op.
 */
import { Channel } from 'node-routeros';
import { RosTrapError } from './errors';

const PATCHED = Symbol.for('rds-csi.node-routeros.trap-reply-patch');
const FIRST_TRAP = Symbol.for('rds-csi.node-routeros.first-trap');

interface SeenTrap {
  message: string;
  category?: number;
}

type ChannelWithTrap = Channel & { [FIRST_TRAP]?: SeenTrap };
type ProcessPacket = (this: ChannelWithTrap, packet: string[]) => void;
type Write = (this: ChannelWithTrap, params: string[], isStream?: boolean, returnPromise?: boolean) => Promise<unknown> | undefined;

/** `processPacket` is private in the package's typings; this is the shape both methods have at run time. */
interface PatchableChannelPrototype {
  processPacket: ProcessPacket;
  write: Write;
  [PATCHED]?: true;
}

function channelPrototype(): PatchableChannelPrototype {
  return Channel.prototype as unknown as PatchableChannelPrototype;
}

/** `=message=a=b` → message `a=b` (split at the second `=` only, RouterOS §1.3); `=category=` kept when it is 0..7. */
export function parseTrapWords(words: readonly string[]): SeenTrap {
  const attrs = new Map<string, string>();
  for (const w of words) {
    if (!w.startsWith('=')) continue;
    const at = w.indexOf('=', 1);
    if (at > 0) attrs.set(w.slice(1, at), w.slice(at + 1));
  }
  const raw = attrs.get('category');
  const category = raw !== undefined && /^[0-7]$/.test(raw) ? Number(raw) : undefined;
  return category === undefined ? { message: attrs.get('message') ?? '' } : { message: attrs.get('message') ?? '', category };
}

/** Installs the `!trap` category adapter on node-routeros' Channel. Idempotent. */
export function applyTrapReplyPatch(): void {
  const proto = channelPrototype();
  if (proto[PATCHED]) return;
  const processPacket = proto.processPacket;
  const write = proto.write;
  if (typeof processPacket !== 'function' || typeof write !== 'function') {
    // A different node-routeros build: fail loudly at load rather than silently lose categories.
    throw new Error('node-routeros Channel.prototype.processPacket/write not found; the !trap adapter cannot be applied');
  }
  proto.processPacket = function processPacketNotingTrap(this: ChannelWithTrap, packet: string[]): void {
    // Several !trap sentences may precede !done (docs/ARCHITECTURE.md RouterOS §1.4); node-routeros rejects with the
    // first one.
    if (packet[0] === '!trap' && this[FIRST_TRAP] === undefined) this[FIRST_TRAP] = parseTrapWords(packet.slice(1));
    processPacket.call(this, packet);
  };
  proto.write = function writeKeepingTrapCategory(this: ChannelWithTrap, params, isStream, returnPromise) {
    const result = write.call(this, params, isStream, returnPromise);
    if (!result) return result;
    return result.catch((err: unknown) => {
      const trap = this[FIRST_TRAP];
      throw trap ? new RosTrapError(trap.message, trap.category) : err;
    });
  };
  proto[PATCHED] = true;
}

export function isTrapReplyPatchApplied(): boolean {
  return channelPrototype()[PATCHED] === true;
}

applyTrapReplyPatch();
