import type { Redis } from 'ioredis';
import type { DriverKeys } from './keys';
import type { AttachmentRecord, AttachmentStore } from './attachment-record';

/** Attachment records in one Redis hash: field = volume id, value = JSON. */
export class RedisAttachmentStore implements AttachmentStore {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    keys: DriverKeys,
  ) {
    this.key = keys.attachments;
  }

  async get(volumeId: string): Promise<AttachmentRecord | undefined> {
    const raw = await this.redis.hget(this.key, volumeId);
    return raw ? (JSON.parse(raw) as AttachmentRecord) : undefined;
  }

  async put(rec: AttachmentRecord): Promise<void> {
    if (Object.keys(rec.nodes).length === 0) await this.redis.hdel(this.key, rec.volumeId);
    else await this.redis.hset(this.key, rec.volumeId, JSON.stringify(rec));
  }

  async getMany(volumeIds: string[]): Promise<AttachmentRecord[]> {
    if (volumeIds.length === 0) return [];
    const raw = await this.redis.hmget(this.key, ...volumeIds);
    return raw.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as AttachmentRecord);
  }

  async all(): Promise<AttachmentRecord[]> {
    const raw = await this.redis.hvals(this.key);
    return raw.map((r) => JSON.parse(r) as AttachmentRecord);
  }

  async count(): Promise<number> {
    return this.redis.hlen(this.key);
  }
}
