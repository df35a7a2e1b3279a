import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { Agent as HttpsAgent } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Client, S3Error, type LifecycleRule, type ObjectLockInfo } from 'minio';
import PQueue from 'p-queue';
import type { MinioStorageConfig } from '../config/schema.js';
import { AppError, errorMessage } from '../shared/errors.js';
import { contentTypeOf } from './content-type.js';
import {
  DAY_MS,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from './object-store.js';

/** Object tag read by the bucket's lifecycle rules: days from creation until the object expires. */
export const EXPIRE_TAG = 'recorder-expire-days';
const RULE_PREFIX = 'recorder-expire-';
// Two parts of one file on the wire at once: one uploads while the next is read and hashed.
const PARTS_IN_FLIGHT = 2;
const MAX_PARTS = 10_000;

/** A storage call that failed; `code` says whether it is the credentials, the bucket, or the network. */
export class StorageError extends AppError {
  constructor(
    code:
      | 'STORAGE_AUTH'
      | 'STORAGE_NO_BUCKET'
      | 'STORAGE_UNAVAILABLE'
      | 'STORAGE_MISMATCH'
      | 'STORAGE_LOCKED'
      | 'STORAGE_FAILED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

const AUTH_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);

/** Maps a minio client failure to a StorageError whose code an operator can act on. */
export function classifyStorageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const code = (err as { code?: string }).code ?? '';
  const detail = `${what}: ${code ? `${code}: ` : ''}${errorMessage(err)}`;
  if (err instanceof S3Error && /WORM|retention|locked/i.test(errorMessage(err))) {
    return new StorageError('STORAGE_LOCKED', detail, { cause: err });
  }
  if (AUTH_CODES.has(code)) {
    return new StorageError(
      'STORAGE_AUTH',
      `${detail} (check storage.accessKey, storage.secretKey and the bucket policy)`,
      {
        cause: err,
      },
    );
  }
  if (code === 'NoSuchBucket') return new StorageError('STORAGE_NO_BUCKET', detail, { cause: err });
  if (NETWORK_CODES.has(code) || /socket hang up|ECONN/i.test(errorMessage(err))) {
    return new StorageError('STORAGE_UNAVAILABLE', detail, { cause: err });
  }
  return new StorageError('STORAGE_FAILED', detail, { cause: err });
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'NotFound' || code === 'NoSuchKey' || code === 'NoSuchVersion';
}

function md5(data: Buffer): Buffer {
  return createHash('md5').update(data).digest();
}

/** The ETag S3 gives a multipart object without encryption: md5 of the part md5s, then "-parts". */
export function multipartEtag(partMd5s: readonly Buffer[]): string {
  return `${md5(Buffer.concat(partMd5s)).toString('hex')}-${partMd5s.length}`;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function cleanEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '') || undefined;
}

/** Recordings in a MinIO (or any S3) bucket: bounded multipart uploads, lifecycle expiry, SSE, object lock. */
export class MinioStore implements ObjectStore {
  readonly kind = 'minio' as const;
  readonly client: Client;
  readonly bucket: string;
  readonly #c: MinioStorageConfig;
  // Lifecycle rules are read-modify-write: one change at a time.
  readonly #lifecycle = new PQueue({ concurrency: 1 });
  readonly #ruleDays = new Set<number>();
  #initialized = false;

  constructor(config: MinioStorageConfig) {
    this.#c = config;
    this.bucket = config.bucket;
    this.client = new Client({
      endPoint: config.endPoint,
      ...(config.port !== undefined ? { port: config.port } : {}),
      useSSL: config.useSSL,
      accessKey: config.accessKey,
      secretKey: config.secretKey,
      ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}),
      region: config.region,
      partSize: config.partSize,
      ...(config.caFile
        ? { transportAgent: new HttpsAgent({ ca: readFileSync(config.caFile), keepAlive: true }) }
        : {}),
    });
    // Every body goes with a Content-MD5 the server checks, so the client's SHA-256 of each body over plain
    // HTTP is a second full hash for no gain: sign UNSIGNED-PAYLOAD instead, as the client does over TLS.
    (this.client as unknown as { enableSHA256: boolean }).enableSHA256 = false;
  }

  #name(key: string): string {
    return this.#c.prefix + key;
  }

  /** SSE-C headers go on every request that reads or writes object data. */
  #customerKeyHeaders(): Record<string, string> {
    const sse = this.#c.sse;
    if (sse?.type !== 'SSE-C') return {};
    return {
      'X-Amz-Server-Side-Encryption-Customer-Algorithm': 'AES256',
      'X-Amz-Server-Side-Encryption-Customer-Key': sse.key,
      'X-Amz-Server-Side-Encryption-Customer-Key-MD5': md5(Buffer.from(sse.key, 'base64')).toString('base64'),
    };
  }

  #putHeaders(key: string, options: PutOptions | undefined, createdAt: number): Record<string, string> {
    const headers: Record<string, string> = {
      'Content-Type': options?.contentType ?? contentTypeOf(key),
      ...this.#customerKeyHeaders(),
    };
    if (this.#c.sse?.type === 'SSE-S3') headers['X-Amz-Server-Side-Encryption'] = 'AES256';
    const days = options?.retentionDays ?? 0;
    if (days > 0) {
      headers['X-Amz-Tagging'] = `${EXPIRE_TAG}=${days}`;
      if (this.#c.objectLock) {
        headers['X-Amz-Object-Lock-Mode'] = this.#c.objectLock.mode;
        headers['X-Amz-Object-Lock-Retain-Until-Date'] = new Date(createdAt + days * DAY_MS).toISOString();
      }
    }
    return headers;
  }

  async init(): Promise<void> {
    try {
      const exists = await this.client.bucketExists(this.bucket);
      if (!exists) {
        await this.client
          .makeBucket(this.bucket, this.#c.region, this.#c.objectLock ? { ObjectLocking: true } : {})
          .catch((err: unknown) => {
            // Another node of a cluster created it a moment before: it is ours, and ready.
            if ((err as { code?: string }).code !== 'BucketAlreadyOwnedByYou') throw err;
          });
      } else if (this.#c.objectLock) {
        const lock = await (
          this.client.getObjectLockConfig(this.bucket) as unknown as Promise<ObjectLockInfo>
        ).catch(() => undefined);
        if (lock?.objectLockEnabled !== 'Enabled') {
          throw new StorageError(
            'STORAGE_FAILED',
            `bucket ${this.bucket} exists without object locking; storage.objectLock needs a bucket created with it`,
          );
        }
      }
      for (const rule of await this.#readRules()) {
        const days = Number(/^recorder-expire-(\d+)d$/.exec(rule.ID)?.[1]);
        if (days > 0) this.#ruleDays.add(days);
      }
      this.#initialized = true;
    } catch (err) {
      throw classifyStorageError(err, `preparing bucket ${this.bucket}`);
    }
  }

  async #readRules(): Promise<LifecycleRule[]> {
    try {
      // The client's XML parser gives one rule as an object, several as an array.
      const rules = (await this.client.getBucketLifecycle(this.bucket))?.Rule as
        LifecycleRule | LifecycleRule[] | undefined;
      return Array.isArray(rules) ? rules : rules ? [rules] : [];
    } catch (err) {
      if ((err as { code?: string }).code === 'NoSuchLifecycleConfiguration') return [];
      throw err;
    }
  }

  /** Makes sure a lifecycle rule expires objects tagged with `days`; keeps every other rule of the bucket. */
  async #ensureRule(days: number): Promise<void> {
    if (this.#ruleDays.has(days)) return;
    await this.#lifecycle.add(async () => {
      if (this.#ruleDays.has(days)) return;
      const rules = await this.#readRules();
      const id = `${RULE_PREFIX}${days}d`;
      if (!rules.some((r) => r.ID === id)) {
        rules.push({
          ID: id,
          Status: 'Enabled',
          Filter: { Tag: { Key: EXPIRE_TAG, Value: String(days) } },
          Expiration: { Days: days },
        } as unknown as LifecycleRule);
        await this.client.setBucketLifecycle(this.bucket, { Rule: rules });
      }
      this.#ruleDays.add(days);
    });
  }

  /** Lifecycle rules the recorder put on the bucket, for checks and operators. */
  async expiryRules(): Promise<{ id: string; tagValue: string; days: number }[]> {
    return (await this.#readRules())
      .filter((r) => r.ID.startsWith(RULE_PREFIX))
      .map((r) => {
        const rule = r as unknown as {
          ID: string;
          Filter?: { Tag?: { Value?: string } };
          Expiration?: { Days?: number };
        };
        return {
          id: rule.ID,
          tagValue: String(rule.Filter?.Tag?.Value ?? ''),
          days: Number(rule.Expiration?.Days),
        };
      });
  }

  async putFile(localPath: string, key: string, options?: PutOptions): Promise<StoredObject> {
    const days = options?.retentionDays ?? 0;
    try {
      // A store that was down at start gets its bucket made by the first upload that reaches it.
      if (!this.#initialized) await this.init();
      if (days > 0) await this.#ensureRule(days);
      const handle = await open(localPath, 'r');
      let expected: { size: number; etag: string | undefined };
      try {
        const { size } = await handle.stat();
        const headers = this.#putHeaders(key, options, Date.now());
        expected =
          size <= this.#c.partSize
            ? await this.#putSingle(key, await handle.readFile(), headers)
            : await this.#putMultipart(key, handle, size, headers);
      } finally {
        await handle.close();
      }
      const stored = await this.#confirm(key, expected);
      // The local copy goes only once the stored one is confirmed.
      await unlink(localPath);
      return stored;
    } catch (err) {
      throw classifyStorageError(err, `uploading ${key}`);
    }
  }

  async putBuffer(data: Buffer, key: string, options?: PutOptions): Promise<StoredObject> {
    const days = options?.retentionDays ?? 0;
    try {
      // A store that was down at start gets its bucket made by the first upload that reaches it.
      if (!this.#initialized) await this.init();
      if (days > 0) await this.#ensureRule(days);
      const expected = await this.#putSingle(key, data, this.#putHeaders(key, options, Date.now()));
      return await this.#confirm(key, expected);
    } catch (err) {
      throw classifyStorageError(err, `uploading ${key}`);
    }
  }

  /** Without encryption the ETag is the md5 we computed; with it, the one the server answered. */
  #expectedEtag(computed: string, answered: string | undefined): string | undefined {
    return this.#c.sse ? answered : computed;
  }

  async #putSingle(key: string, data: Buffer, headers: Record<string, string>) {
    const digest = md5(data);
    const res = await this.client.makeRequestAsyncOmit(
      {
        method: 'PUT',
        bucketName: this.bucket,
        objectName: this.#name(key),
        headers: { ...headers, 'Content-MD5': digest.toString('base64') },
      },
      data,
    );
    return {
      size: data.length,
      etag: this.#expectedEtag(digest.toString('hex'), cleanEtag(headerValue(res.headers, 'etag'))),
    };
  }

  /**
   * Parts are read from the file at their offsets, PARTS_IN_FLIGHT at a time, each into its own buffer:
   * memory per upload is PARTS_IN_FLIGHT × partSize, whatever the file size.
   */
  async #putMultipart(
    key: string,
    handle: Awaited<ReturnType<typeof open>>,
    size: number,
    headers: Record<string, string>,
  ) {
    const objectName = this.#name(key);
    // S3 allows 10,000 parts: a file beyond 10,000 × partSize takes larger parts.
    const partSize = Math.max(this.#c.partSize, Math.ceil(size / MAX_PARTS));
    const uploadId = await this.client.initiateNewMultipartUpload(this.bucket, objectName, headers);
    try {
      const count = Math.ceil(size / partSize);
      const parts: { part: number; etag: string }[] = new Array(count);
      const digests: Buffer[] = new Array(count);
      let next = 0;
      const lane = async () => {
        const buffer = Buffer.allocUnsafe(partSize);
        for (let index = next++; index < count; index = next++) {
          const offset = index * partSize;
          const length = Math.min(partSize, size - offset);
          const { bytesRead } = await handle.read(buffer, 0, length, offset);
          if (bytesRead !== length) throw new Error(`short read of ${key} at ${offset}`);
          const chunk = buffer.subarray(0, length);
          const digest = md5(chunk);
          digests[index] = digest;
          const res = await this.client.makeRequestAsyncOmit(
            {
              method: 'PUT',
              bucketName: this.bucket,
              objectName,
              query: `partNumber=${index + 1}&uploadId=${encodeURIComponent(uploadId)}`,
              headers: { 'Content-MD5': digest.toString('base64'), ...this.#customerKeyHeaders() },
            },
            chunk,
          );
          parts[index] = { part: index + 1, etag: cleanEtag(headerValue(res.headers, 'etag')) ?? '' };
        }
      };
      await Promise.all(Array.from({ length: Math.min(PARTS_IN_FLIGHT, count) }, lane));
      const done = await this.client.completeMultipartUpload(this.bucket, objectName, uploadId, parts);
      return { size, etag: this.#expectedEtag(multipartEtag(digests), cleanEtag(done.etag)) };
    } catch (err) {
      await this.client.abortMultipartUpload(this.bucket, objectName, uploadId).catch(() => {});
      throw err;
    }
  }

  /** A HEAD of the stored object: its size and ETag must be what was sent. */
  async #confirm(key: string, expected: { size: number; etag: string | undefined }): Promise<StoredObject> {
    const res = await this.#head(key).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
    if (!res) throw new StorageError('STORAGE_MISMATCH', `stored ${key} is missing after upload`);
    const info = {
      size: Number(headerValue(res.headers, 'content-length')),
      etag: cleanEtag(headerValue(res.headers, 'etag')),
    };
    if (info.size !== expected.size || (expected.etag && info.etag && info.etag !== expected.etag)) {
      throw new StorageError(
        'STORAGE_MISMATCH',
        `stored ${key} has ${info.size} bytes, ETag ${info.etag}; expected ${expected.size} bytes, ETag ${expected.etag}`,
      );
    }
    return { key, size: info.size, etag: info.etag };
  }

  async #head(key: string) {
    return this.client.makeRequestAsyncOmit({
      method: 'HEAD',
      bucketName: this.bucket,
      objectName: this.#name(key),
      headers: this.#customerKeyHeaders(),
    });
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    let res;
    try {
      res = await this.#head(key);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw classifyStorageError(err, `stat ${key}`);
    }
    const lastModified = new Date(headerValue(res.headers, 'last-modified') ?? 0);
    const days = await this.#expiryDays(key);
    return {
      key,
      size: Number(headerValue(res.headers, 'content-length')),
      etag: cleanEtag(headerValue(res.headers, 'etag')),
      lastModified,
      expiresAt: days ? new Date(lastModified.getTime() + days * DAY_MS) : undefined,
    };
  }

  async #expiryDays(key: string): Promise<number | undefined> {
    const tags = await this.client.getObjectTagging(this.bucket, this.#name(key));
    const tag = tags.find((t) => t.Key === EXPIRE_TAG);
    return tag ? Number(tag.Value) : undefined;
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    try {
      return await this.client.makeRequestAsync(
        {
          method: 'GET',
          bucketName: this.bucket,
          objectName: this.#name(key),
          headers: {
            ...this.#customerKeyHeaders(),
            ...(range ? { range: `bytes=${range.start}-${range.end}` } : {}),
          },
        },
        '',
        range ? [206] : [200],
      );
    } catch (err) {
      if (isNotFound(err)) throw new AppError('NOT_FOUND', `no object ${key}`);
      throw classifyStorageError(err, `reading ${key}`);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const names: string[] = [];
    try {
      for await (const item of this.client.listObjectsV2(this.bucket, this.#name(prefix), true)) {
        if (item.name) names.push(item.name);
      }
    } catch (err) {
      throw classifyStorageError(err, `listing ${prefix}`);
    }
    const infos = await Promise.all(names.map((name) => this.stat(name.slice(this.#c.prefix.length))));
    return infos.filter((i): i is ObjectInfo => i !== undefined).sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  async delete(key: string): Promise<void> {
    const objectName = this.#name(key);
    try {
      if (this.#c.objectLock) {
        // In a locking (versioned) bucket a plain delete only hides the object; remove the version itself.
        const res = await this.#head(key).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        });
        if (!res) return;
        const versionId = headerValue(res.headers, 'x-amz-version-id');
        await this.client.removeObject(this.bucket, objectName, versionId ? { versionId } : {});
        return;
      }
      await this.client.removeObject(this.bucket, objectName);
    } catch (err) {
      const e = classifyStorageError(err, `deleting ${key}`);
      if (this.#c.objectLock && e.code === 'STORAGE_AUTH') {
        throw new StorageError(
          'STORAGE_LOCKED',
          `${key} is locked (${this.#c.objectLock.mode}) until its expiry`,
          {
            cause: err,
          },
        );
      }
      throw e;
    }
  }

  async urlFor(key: string): Promise<string> {
    const objectName = this.#name(key);
    if (this.#c.publicBaseUrl) {
      return `${this.#c.publicBaseUrl.replace(/\/+$/, '')}/${objectName.split('/').map(encodeURIComponent).join('/')}`;
    }
    return this.client.presignedGetObject(this.bucket, objectName, this.#c.presignSeconds);
  }

  async setExpiry(key: string, expiresAt: Date | undefined): Promise<Date | undefined> {
    const info = await this.stat(key);
    if (!info) throw new AppError('NOT_FOUND', `no object ${key}`);
    const objectName = this.#name(key);
    try {
      if (!expiresAt) {
        // The versionId is optional on the wire; the client's type says otherwise.
        await this.client.removeObjectTagging(
          this.bucket,
          objectName,
          {} as Parameters<Client['removeObjectTagging']>[2],
        );
        return undefined;
      }
      // Lifecycle expiry counts whole days from creation.
      const days = Math.max(1, Math.ceil((expiresAt.getTime() - info.lastModified.getTime()) / DAY_MS));
      await this.#ensureRule(days);
      await this.client.setObjectTagging(this.bucket, objectName, { [EXPIRE_TAG]: String(days) });
      const until = new Date(info.lastModified.getTime() + days * DAY_MS);
      if (this.#c.objectLock) {
        const current = await this.client.getObjectRetention(this.bucket, objectName).catch(() => undefined);
        const held = current?.retainUntilDate ? new Date(current.retainUntilDate) : undefined;
        // A lock can be extended, never shortened.
        if (!held || held < until) {
          await this.client.putObjectRetention(this.bucket, objectName, {
            mode: this.#c.objectLock.mode,
            retainUntilDate: until.toISOString(),
          } as Parameters<Client['putObjectRetention']>[2]);
        }
      }
      return until;
    } catch (err) {
      throw classifyStorageError(err, `setting the expiry of ${key}`);
    }
  }

  /** The bucket's lifecycle rules do the deleting. */
  async sweep(): Promise<string[]> {
    return [];
  }

  async close(): Promise<void> {}
}
