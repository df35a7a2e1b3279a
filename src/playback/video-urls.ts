import { minioVideoUrl, type PlaybackConfig, type StorageConfig } from '../config/schema.js';
import type { ObjectStore } from '../storage/object-store.js';
import { signUrl } from './signed-url.js';

/** The path of a stored object on the playback route. */
export function playbackPath(key: string): string {
  return `/play/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * Where a stored media is played from, as event 100's video_url and DescribeMediaInfos' MediaUrl say: the local
 * disk's own route, the playback route, or the bucket's presigned or public URL (storage.videoUrl). Signed with
 * playback.key when it is set.
 */
export class VideoUrls {
  readonly #store: ObjectStore;
  readonly #viaPlayback: boolean;
  readonly #playback: PlaybackConfig;
  readonly #recorderUrl: () => string;
  readonly #now: () => number;
  readonly #presigned: boolean;
  readonly #presignMs: number;
  readonly #onIssued: ((key: string, expiresAt: Date) => void) | undefined;

  constructor(options: {
    store: ObjectStore;
    storage: StorageConfig;
    playback: PlaybackConfig;
    /** The recorder's own base URL (http.publicBaseUrl, or the bound port on loopback). */
    recorderUrl: () => string;
    now?: () => number;
    /** Each URL that lets its holder play a media for a time (signed, or presigned by the bucket): the audit trail. */
    onIssued?: (key: string, expiresAt: Date) => void;
  }) {
    this.#onIssued = options.onIssued;
    this.#presigned =
      options.storage.type === 'minio' && minioVideoUrl(options.storage, options.playback) === 'presigned';
    this.#presignMs = options.storage.type === 'minio' ? options.storage.presignSeconds * 1000 : 0;
    this.#store = options.store;
    this.#playback = options.playback;
    this.#recorderUrl = options.recorderUrl;
    this.#now = options.now ?? Date.now;
    this.#viaPlayback =
      options.storage.type === 'minio' && minioVideoUrl(options.storage, options.playback) === 'playback';
  }

  /**
   * Where a stored object plays on the playback route, whatever the store: signed with playback.key. `base` is
   * the recorder's public base URL unless given (the loopback one, for the recorder's own ffmpeg).
   */
  playUrl(key: string, base = this.#recorderUrl()): string {
    return this.#signed(`${base.replace(/\/+$/, '')}${playbackPath(key)}`, key);
  }

  #signed(url: string, key: string): string {
    const signingKey = this.#playback.key;
    if (!signingKey) return url;
    const expiresAt = Math.floor(this.#now() / 1000) + this.#playback.urlTtlSeconds;
    this.#onIssued?.(key, new Date(expiresAt * 1000));
    return signUrl(signingKey, url, { expiresAt });
  }

  async urlFor(key: string): Promise<string> {
    const url = this.#viaPlayback
      ? `${this.#recorderUrl().replace(/\/+$/, '')}${playbackPath(key)}`
      : await this.#store.urlFor(key);
    // A bucket's presigned URL is a credential of its own, valid for the store's presign time.
    if (this.#presigned) this.#onIssued?.(key, new Date(this.#now() + this.#presignMs));
    // The config allows a key only with URLs the recorder serves: the local disk's, or the playback route.
    return this.#signed(url, key);
  }
}
