import { copyFile, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { AppError } from '../shared/errors.js';
import type { ObjectStore, StoredObject } from './object-store.js';

/** Files under dataDir, served by the recorder's HTTP server at the same path. */
export class LocalStore implements ObjectStore {
  readonly #root: string;
  readonly #publicBaseUrl: () => string;

  /** publicBaseUrl is read when a URL is made, so it can depend on the port bound at start. */
  constructor(options: { dataDir: string; publicBaseUrl: () => string }) {
    this.#root = resolve(options.dataDir);
    this.#publicBaseUrl = options.publicBaseUrl;
  }

  #pathOf(key: string): string {
    const path = resolve(this.#root, key);
    if (!path.startsWith(this.#root + sep))
      throw new AppError('INVALID_KEY', `key ${key} escapes the data dir`);
    return path;
  }

  async putFile(localPath: string, key: string): Promise<StoredObject> {
    const target = this.#pathOf(key);
    const { size } = await stat(localPath);
    await mkdir(dirname(target), { recursive: true });
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

  async putBuffer(data: Buffer, key: string): Promise<StoredObject> {
    const target = this.#pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    const temp = join(dirname(target), `.${process.pid}.${Date.now()}.tmp`);
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
    return this.#confirm(target, key, data.length);
  }

  async #confirm(path: string, key: string, expectedSize: number): Promise<StoredObject> {
    const { size } = await stat(path);
    if (size !== expectedSize) {
      throw new AppError('STORE_MISMATCH', `stored ${key} has ${size} bytes, expected ${expectedSize}`);
    }
    return { key, size };
  }

  async exists(key: string): Promise<boolean> {
    try {
      await stat(this.#pathOf(key));
      return true;
    } catch {
      return false;
    }
  }

  urlFor(key: string): string {
    return `${this.#publicBaseUrl().replace(/\/+$/, '')}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }
}
