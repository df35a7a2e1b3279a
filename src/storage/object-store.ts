import type { Readable } from 'node:stream';

/** An object as the store confirmed it after writing. */
export interface StoredObject {
  key: string;
  size: number;
  /** The server's ETag, where it gives one. */
  etag?: string | undefined;
}

/** What the store knows of one object. */
export interface ObjectInfo extends StoredObject {
  lastModified: Date;
  /** When retention deletes it; undefined: kept forever. */
  expiresAt: Date | undefined;
}

/** Bytes start..end of an object, both inclusive (HTTP's Range). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PutOptions {
  contentType?: string;
  /** Tencent StorageTime: days until the object expires, counted from its creation; 0 keeps it forever. */
  retentionDays?: number;
  /** The content's SHA-256 (hex), when the caller hashed it already: the audit trail records it. */
  sha256?: string;
}

/**
 * Where recordings are kept. Keys are `app/fileName`, built only by the naming module.
 * Implementations: the local disk (the embedded default) and MinIO; one conformance suite runs against both.
 */
export interface ObjectStore {
  readonly kind: 'local' | 'minio';
  /** Prepares the store (bucket, lifecycle, locking); safe to call again after a failure. */
  init(): Promise<void>;
  /** Stores a local file under key. The local file is removed only after a stat confirms the stored copy. */
  putFile(localPath: string, key: string, options?: PutOptions): Promise<StoredObject>;
  /** Stores bytes under key (playlists). */
  putBuffer(data: Buffer, key: string, options?: PutOptions): Promise<StoredObject>;
  /** Undefined when there is no such object. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** The object's bytes, or those of range; rejects with a NOT_FOUND AppError when missing. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Every object whose key starts with prefix, in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Removes an object; a missing one is not an error. Rejects while a lock holds it. */
  delete(key: string): Promise<void>;
  /** Where an object can be played or downloaded (a public URL, or a presigned GET). */
  urlFor(key: string): Promise<string>;
  /** Moves an object's expiry (later, earlier, or undefined for never); returns the expiry now in force. */
  setExpiry(key: string, expiresAt: Date | undefined): Promise<Date | undefined>;
  /** Deletes what has expired, where the store has no server-side lifecycle; returns the keys removed. */
  sweep(now: Date): Promise<string[]>;
  close(): Promise<void>;
}

export const DAY_MS = 86_400_000;
