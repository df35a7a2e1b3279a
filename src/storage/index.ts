import type { StorageConfig } from '../config/schema.js';
import { LocalStore } from './local-store.js';
import { MinioStore } from './minio-store.js';
import type { ObjectStore } from './object-store.js';

export type { ObjectStore } from './object-store.js';

/** The store the config names: the local disk (served by the recorder itself) or MinIO. */
export function createStore(
  config: StorageConfig,
  local: { dataDir: string; publicBaseUrl: () => string },
): ObjectStore {
  return config.type === 'minio' ? new MinioStore(config) : new LocalStore(local);
}
