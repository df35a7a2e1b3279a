import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { writeFileDurably } from '../shared/durable-file.js';
import { AppError } from '../shared/errors.js';
import {
  DAY_MS,
  type ByteRange,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from './object-store.js';

/** Sidecar of an object with an expiry, under `.meta/` (never served: dot dirs are refused). */
interface Meta {
  expiresAt: string;
}

const META_DIR = '.meta';

/** Every file below dir; entries starting with a dot are skipped when skipHidden. */
async function* filesUnder(dir: string, skipHidden: boolean): AsyncGenerator<string> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => {
    if (isMissing(err)) return [];
    throw err;
  });
  for (const entry of entries) {
    if (skipHidden && entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(full, skipHidden);
    else if (entry.isFile()) yield full;
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Files under dataDir, served by the recorder's HTTP server at the same path; a sweeper applies retention. */
export class LocalStore implements ObjectStore {
  readonly kind = 'local' as const;
  readonly #root: string;
  readonly #publicBaseUrl: () => string;
  readonly #now: () => number;

  /** publicBaseUrl is read when a URL is made, so it can depend on the port bound at start. */
  constructor(options: { dataDir: string; publicBaseUrl: () => string; now?: () => number }) {
    this.#root = resolve(options.dataDir);
    this.#publicBaseUrl = options.publicBaseUrl;
    this.#now = options.now ?? Date.now;
  }

  #pathOf(key: string, root = this.#root): string {
    const path = resolve(root, key);
    if (!path.startsWith(root + sep) || key.split('/').some((s) => s.startsWith('.')))
      throw new AppError('INVALID_KEY', `key ${key} escapes the data dir or names a hidden file`);
    return path;
  }

  #metaPath(key: string): string {
    return `${this.#pathOf(key, join(this.#root, META_DIR))}.json`;
  }

  async init(): Promise<void> {
    await mkdir(this.#root, { recursive: true });
  }

  async putFile(localPath: string, key: string, options?: PutOptions): Promise<StoredObject> {
    const target = this.#pathOf(key);
    const { size } = await stat(localPath);
    await mkdir(dirname(target), { recursive: true });
    await this.#writeExpiry(key, options?.retentionDays);
    try {
      await rename(localPath, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      await copyFile(localPath, target);
      await this.#confirm(target, key, size);
      await unlink(localPath);
    }
    return this.#confirm(target, key, size);
  }

  async putBuffer(data: Buffer, key: string, options?: PutOptions): Promise<StoredObject> {
    const target = this.#pathOf(key);
    await this.#writeExpiry(key, options?.retentionDays);
    await writeFileDurably(target, data);
    return this.#confirm(target, key, data.length);
  }

  async #writeExpiry(key: string, days: number | undefined): Promise<void> {
    if (days && days > 0) {
      await this.#setMeta(key, new Date(this.#now() + days * DAY_MS));
    } else {
      await rm(this.#metaPath(key), { force: true });
    }
  }

  async #setMeta(key: string, expiresAt: Date | undefined): Promise<void> {
    if (!expiresAt) return rm(this.#metaPath(key), { force: true });
    const meta: Meta = { expiresAt: expiresAt.toISOString() };
    await writeFileDurably(this.#metaPath(key), JSON.stringify(meta));
  }

  async #readMeta(key: string): Promise<Meta | undefined> {
    try {
      return JSON.parse(await readFile(this.#metaPath(key), 'utf8')) as Meta;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async #confirm(path: string, key: string, expectedSize: number): Promise<StoredObject> {
    const { size } = await stat(path);
    if (size !== expectedSize) {
      throw new AppError('STORE_MISMATCH', `stored ${key} has ${size} bytes, expected ${expectedSize}`);
    }
    return { key, size };
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    let info;
    try {
      info = await stat(this.#pathOf(key));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    if (!info.isFile()) return undefined;
    const meta = await this.#readMeta(key);
    return {
      key,
      size: info.size,
      lastModified: info.mtime,
      expiresAt: meta ? new Date(meta.expiresAt) : undefined,
    };
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.#pathOf(key);
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) throw new AppError('NOT_FOUND', `no object ${key}`);
    return createReadStream(path, range);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const dir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const keys: string[] = [];
    for await (const full of filesUnder(dir ? this.#pathOf(dir) : this.#root, true)) {
      const key = relative(this.#root, full).split(sep).join('/');
      if (key.startsWith(prefix)) keys.push(key);
    }
    const infos = await Promise.all(keys.sort().map((key) => this.stat(key)));
    return infos.filter((i): i is ObjectInfo => i !== undefined);
  }

  async delete(key: string): Promise<void> {
    await rm(this.#pathOf(key), { force: true });
    await rm(this.#metaPath(key), { force: true });
  }

  async urlFor(key: string): Promise<string> {
    return `${this.#publicBaseUrl().replace(/\/+$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  async setExpiry(key: string, expiresAt: Date | undefined): Promise<Date | undefined> {
    if (!(await this.stat(key))) throw new AppError('NOT_FOUND', `no object ${key}`);
    await this.#setMeta(key, expiresAt);
    return expiresAt;
  }

  async sweep(now: Date): Promise<string[]> {
    const metaRoot = join(this.#root, META_DIR);
    const removed: string[] = [];
    for await (const full of filesUnder(metaRoot, false)) {
      if (!full.endsWith('.json') || basename(full).startsWith('.')) continue;
      const key = relative(metaRoot, full).split(sep).join('/').slice(0, -'.json'.length);
      const meta = await this.#readMeta(key).catch(() => undefined);
      if (meta && new Date(meta.expiresAt) <= now) {
        await this.delete(key);
        removed.push(key);
      }
    }
    return removed.sort();
  }

  async close(): Promise<void> {}
}
