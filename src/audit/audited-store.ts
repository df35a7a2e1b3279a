import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type {
  ByteRange,
  ObjectInfo,
  ObjectStore,
  PutOptions,
  StoredObject,
} from '../storage/object-store.js';
import type { AuditRecord } from './audit-log.js';

/**
 * The store, with every object written or removed told to the audit trail: `object.stored` with its SHA-256
 * (hashed here unless the writer hashed it already), size and expiry, `object.deleted`, `object.expiry`.
 */
export class AuditedStore implements ObjectStore {
  readonly #inner: ObjectStore;
  readonly #record: (facts: AuditRecord) => void;
  readonly #now: () => number;

  constructor(inner: ObjectStore, record: (facts: AuditRecord) => void, now: () => number = Date.now) {
    this.#inner = inner;
    this.#record = record;
    this.#now = now;
  }

  get kind(): ObjectStore['kind'] {
    return this.#inner.kind;
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  async putFile(localPath: string, key: string, options?: PutOptions): Promise<StoredObject> {
    const sha256 = options?.sha256 ?? (await hashFile(localPath));
    const stored = await this.#inner.putFile(localPath, key, options);
    this.#stored(stored, sha256, options);
    return stored;
  }

  async putBuffer(data: Buffer, key: string, options?: PutOptions): Promise<StoredObject> {
    const stored = await this.#inner.putBuffer(data, key, options);
    this.#stored(stored, options?.sha256 ?? createHash('sha256').update(data).digest('hex'), options);
    return stored;
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.#inner.stat(key);
  }

  get(key: string, range?: ByteRange): Promise<Readable> {
    return this.#inner.get(key, range);
  }

  list(prefix: string): Promise<ObjectInfo[]> {
    return this.#inner.list(prefix);
  }

  async delete(key: string): Promise<void> {
    await this.#inner.delete(key);
    this.#record({ action: 'object.deleted', subject: key });
  }

  urlFor(key: string): Promise<string> {
    return this.#inner.urlFor(key);
  }

  async setExpiry(key: string, expiresAt: Date | undefined): Promise<Date | undefined> {
    const effective = await this.#inner.setExpiry(key, expiresAt);
    this.#record({
      action: 'object.expiry',
      subject: key,
      detail: { expiresAt: effective ? effective.toISOString() : null },
    });
    return effective;
  }

  async sweep(now: Date): Promise<string[]> {
    const removed = await this.#inner.sweep(now);
    for (const key of removed)
      this.#record({ action: 'object.deleted', subject: key, detail: { reason: 'expired' } });
    return removed;
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #stored(stored: StoredObject, sha256: string, options: PutOptions | undefined): void {
    const days = options?.retentionDays ?? 0;
    this.#record({
      action: 'object.stored',
      subject: stored.key,
      detail: {
        sha256,
        size: stored.size,
        ...(days > 0 ? { expiresAt: new Date(this.#now() + days * 86_400_000).toISOString() } : {}),
      },
    });
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
