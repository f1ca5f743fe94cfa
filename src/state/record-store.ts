/** What every stored record has: an id and the generation that makes its job ids unique per incarnation. */
export interface StoredRecord {
  id: string;
  gen: string;
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
  /** Overwrites the record only if its generation is still `rec.gen`; false otherwise. */
  update(rec: T): Promise<boolean>;
  /** Removes the record only if its generation is `gen`. */
  remove(id: string, gen: string): Promise<boolean>;
  /** Records in id order, starting after `after`. */
  page(after: string | undefined, limit: number): Promise<Page<T>>;
  count(): Promise<number>;
}
