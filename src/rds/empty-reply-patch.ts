/**
 * Adapter for the `!empty` reply in node-routeros 1.6.9 (docs/ARCHITECTURE.md RouterOS §3.5).
 *
 * Why: RouterOS >= 7.18 answers a `print` that matches nothing with `!empty` and then `!done`. node-routeros 1.6.9
 * (the last release) has no case for `!empty`: `Channel.processPacket` emits 'unknown', whose handler throws
 * `UNKNOWNREPLY` synchronously inside the socket's data handler. That is an uncaught exception (the process exits),
 * and even when caught the receiver is left half-way and the connection goes deaf. On an RDS an empty print is the
 * *normal* "does this volume/file exist?" lookup, so this must be fixed before the first connection is made.
 *
 * Fix: wrap the exported `Channel.prototype.processPacket` so a packet whose first word is `!empty` is consumed
 * silently. The `!done` that follows then resolves the pending `write()` with `[]`, as before 7.18. Applied once at
 * load by routeros-client.ts (importing this module is enough); applying it again is a no-op.
 */
import { Channel } from 'node-routeros';

const PATCHED = Symbol.for('rds-csi.node-routeros.empty-reply-patch');

type ProcessPacket = (this: Channel, packet: string[]) => void;

/** `processPacket` is private in the package's typings; this is the shape it has at run time. */
interface PatchableChannelPrototype {
  processPacket: ProcessPacket;
  [PATCHED]?: true;
}

function channelPrototype(): PatchableChannelPrototype {
  return Channel.prototype as unknown as PatchableChannelPrototype;
}

/** Installs the `!empty` adapter on node-routeros' Channel. Idempotent. */
export function applyEmptyReplyPatch(): void {
  const proto = channelPrototype();
  if (proto[PATCHED]) return;
  const original = proto.processPacket;
  if (typeof original !== 'function') {
    // A different node-routeros build: fail loudly at load rather than crash later on the first empty print.
    throw new Error('node-routeros Channel.prototype.processPacket not found; the !empty adapter cannot be applied');
  }
  proto.processPacket = function processPacketIgnoringEmpty(this: Channel, packet: string[]): void {
    if (packet[0] === '!empty') return; // "no rows"; the following !done settles the call with []
    original.call(this, packet);
  };
  proto[PATCHED] = true;
}

export function isEmptyReplyPatchApplied(): boolean {
  return channelPrototype()[PATCHED] === true;
}

applyEmptyReplyPatch();
