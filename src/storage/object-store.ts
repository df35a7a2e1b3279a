/** An object as the store confirmed it. */
export interface StoredObject {
  key: string;
  size: number;
}

/** Where finished recordings are kept. Keys are `app/fileName`, built only by the naming module. */
export interface ObjectStore {
  /** Stores a local file under key; the local file is gone only once the stored copy is confirmed. */
  putFile(localPath: string, key: string): Promise<StoredObject>;
  /** Stores bytes under key (playlists). */
  putBuffer(data: Buffer, key: string): Promise<StoredObject>;
  exists(key: string): Promise<boolean>;
  /** Where a stored object can be played or downloaded. */
  urlFor(key: string): string;
}
