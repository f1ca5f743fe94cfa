/**
 * The file disks in their `/disk print` order, indexed by `.id` (case-insensitive, as `=.id=` resolves), slot and
 * file path, so that resolving `=.id=`/`=numbers=` and a print whose query names one disk cost O(1), not O(disks).
 * Keys may repeat in a hand-written state file, so each key maps to its records in list order.
 */
import type { DiskRecord } from './state';

type Key = 'id' | 'slot' | 'path';

export class DiskIndex {
  private readonly maps: Record<Key, Map<string, DiskRecord[]>> = { id: new Map(), slot: new Map(), path: new Map() };
  /** Insertion number of each record: list order, for merging lookups in that order. */
  private readonly order = new Map<DiskRecord, number>();
  private nextOrder = 0;

  /** `list` is the state's array; the index keeps it in step (append on add, splice on remove). */
  constructor(private readonly list: DiskRecord[]) {
    for (const d of list) this.index(d);
  }

  /** The disks in list order (the state's own array: do not mutate). */
  all(): readonly DiskRecord[] {
    return this.list;
  }

  has(d: DiskRecord): boolean {
    return this.order.has(d);
  }

  add(d: DiskRecord): void {
    this.list.push(d);
    this.index(d);
  }

  remove(d: DiskRecord): void {
    if (!this.order.has(d)) return;
    const i = this.list.indexOf(d);
    if (i >= 0) this.list.splice(i, 1);
    this.order.delete(d);
    for (const k of ['id', 'slot', 'path'] as const) this.unlink(k, keyOf(k, d), d);
  }

  /** Changes a disk's slot (the only indexed field `set` can change). */
  setSlot(d: DiskRecord, slot: string): void {
    if (d.slot === slot) return;
    if (this.order.has(d)) this.unlink('slot', d.slot, d);
    d.slot = slot;
    if (this.order.has(d)) this.link('slot', slot, d);
  }

  /** Disks whose `.id` equals `id` ignoring case, in list order. */
  byId(id: string): readonly DiskRecord[] {
    return this.maps.id.get(id.toUpperCase()) ?? [];
  }

  bySlot(slot: string): readonly DiskRecord[] {
    return this.maps.slot.get(slot) ?? [];
  }

  byPath(filePath: string): readonly DiskRecord[] {
    return this.maps.path.get(filePath) ?? [];
  }

  /** The first, in list order, of the disks whose `.id` (ignoring case) or slot is `key`. */
  firstByIdOrSlot(key: string): DiskRecord | undefined {
    const a = this.byId(key)[0];
    const b = this.bySlot(key)[0];
    if (a === undefined || b === undefined) return a ?? b;
    return this.rank(a) <= this.rank(b) ? a : b;
  }

  /** Sorts records into list order. */
  inOrder(ds: Iterable<DiskRecord>): DiskRecord[] {
    return [...new Set(ds)].sort((x, y) => this.rank(x) - this.rank(y));
  }

  private rank(d: DiskRecord): number {
    return this.order.get(d) ?? Number.MAX_SAFE_INTEGER;
  }

  private index(d: DiskRecord): void {
    this.order.set(d, this.nextOrder++);
    for (const k of ['id', 'slot', 'path'] as const) this.link(k, keyOf(k, d), d);
  }

  private link(k: Key, key: string, d: DiskRecord): void {
    const m = this.maps[k];
    const at = m.get(key);
    if (!at) m.set(key, [d]);
    else {
      at.push(d);
      if (at.length > 1) at.sort((x, y) => this.rank(x) - this.rank(y));
    }
  }

  private unlink(k: Key, key: string, d: DiskRecord): void {
    const m = this.maps[k];
    const rest = (m.get(key) ?? []).filter((x) => x !== d);
    if (rest.length) m.set(key, rest);
    else m.delete(key);
  }
}

function keyOf(k: Key, d: DiskRecord): string {
  return k === 'id' ? d.id.toUpperCase() : k === 'slot' ? d.slot : d.filePath;
}
