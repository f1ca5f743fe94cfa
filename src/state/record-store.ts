/**
 * What every stored record has: an id, the generation that makes its job ids unique per incarnation, and its
 * lifecycle state (creating, ready, deleting).
 */
export interface StoredRecord {
  id: string;
  gen: string;
  state: string;
}

export interface Page<T> {
  records: T[];
  /** Id to continue after; undefined at the end. */
  next?: string;
}

/** Records of one kind (volumes, snapshots) in Redis; see redis-record-store.ts. */
export interface RecordStore<T extends StoredRecord> {
  get(id: string): Promise<T | undefined>;
  /** Stores `rec` unless a record with its id exists; returns the stored one either way. */
  claim(rec: T): Promise<{ created: boolean; record: T }>;
  /**
   * Overwrites the record only if its generation is still `rec.gen` and, with `from`, its state is still `from`;
   * false otherwise. `from` keeps a write made from an earlier read (a create's "ready", an expand's size) from
   * undoing a state another call wrote meanwhile (a DeleteVolume's "deleting" of the same generation).
   */
  update(rec: T, from?: T['state']): Promise<boolean>;
  /** Removes the record only if its generation is `gen`. */
  remove(id: string, gen: string): Promise<boolean>;
  /** Records in id order, starting after `after`. */
  page(after: string | undefined, limit: number): Promise<Page<T>>;
  count(): Promise<number>;
}
