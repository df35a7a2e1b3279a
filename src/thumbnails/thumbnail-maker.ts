import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import PQueue from 'p-queue';
import { renderCover, renderSprite } from '../ffmpeg/thumbnails.js';
import type { MediaCatalog, MediaThumbnails } from '../media/media-index.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import type { ObjectStore } from '../storage/object-store.js';
import { COVER_WIDTH, spriteGrid, thumbnailKeys, thumbnailsVtt } from './plan.js';

export interface ThumbnailMakerOptions {
  ffmpegPath: string;
  store: Pick<ObjectStore, 'putFile' | 'putBuffer' | 'setExpiry' | 'delete'>;
  catalog: Pick<MediaCatalog, 'get' | 'setThumbnails'>;
  /** Where ffmpeg reads a stored media: the playback route on loopback, so every store reads the same way. */
  sourceUrl: (key: string) => string;
  /** Seconds between scrub thumbnails; 0: no sprite (the cover is still made). */
  intervalSeconds: number;
  concurrency: number;
  /** Scratch space for the JPEGs before they are stored. */
  workDir: string;
  logger: Logger;
  timeoutMs?: number;
}

export interface ThumbnailMakerEvents {
  made: [fileId: string, thumbnails: MediaThumbnails];
  failed: [fileId: string, error: string];
}

/**
 * Makes the thumbnails of each stored media after its event 100, in a queue of its own: the recording path
 * never waits for them. ffmpeg decodes keyframes only. A failure is logged and leaves the media without them.
 */
export class ThumbnailMaker extends TypedEmitter<ThumbnailMakerEvents> {
  readonly #o: ThumbnailMakerOptions;
  readonly #queue: PQueue;
  readonly #log: Logger;
  #closed = false;

  constructor(options: ThumbnailMakerOptions) {
    super();
    this.#o = options;
    this.#queue = new PQueue({ concurrency: options.concurrency });
    this.#log = options.logger.child({ component: 'thumbnails' });
  }

  /** Queues the thumbnails of a stored media; audio-only media get none. */
  enqueue(file: { fileId: string; key: string; format: string }): void {
    if (this.#closed || file.format === 'aac') return;
    void this.#queue.add(() => this.#make(file.fileId, file.key));
  }

  /**
   * Drops what is still queued and waits (at most timeoutMs) for the job running: thumbnails are a convenience,
   * and a media left without them is not remade.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    this.#closed = true;
    this.#queue.clear();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#queue.onIdle(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  /** Resolves once every queued media has its thumbnails (or failed). */
  idle(): Promise<void> {
    return this.#queue.onIdle();
  }

  async #make(fileId: string, key: string): Promise<void> {
    // Never rejects: a failure (the index or store away, ffmpeg unable to read) is logged and emitted.
    try {
      const [entry] = await this.#o.catalog.get([fileId]);
      if (!entry || (entry.width === 0 && entry.videoStreams.length === 0)) return;
      await this.#render(fileId, key, entry);
    } catch (err) {
      this.#log.warn({ fileId, key, err: errorMessage(err) }, 'thumbnails failed');
      this.emit('failed', fileId, errorMessage(err));
    }
  }

  async #render(
    fileId: string,
    key: string,
    entry: { duration: number; width: number; height: number; expireTimeMs: number | null },
  ): Promise<void> {
    await mkdir(this.#o.workDir, { recursive: true });
    const dir = await mkdtemp(join(this.#o.workDir, 'thumbs-'));
    const keys = thumbnailKeys(key);
    const stored: string[] = [];
    const ffmpeg = { logger: this.#log, timeoutMs: this.#o.timeoutMs ?? 300_000 };
    try {
      const input = this.#o.sourceUrl(key);
      const made: MediaThumbnails = { cover: keys.cover };
      const cover = join(dir, 'cover.jpg');
      await renderCover(this.#o.ffmpegPath, input, cover, { width: COVER_WIDTH, ...ffmpeg });
      await this.#o.store.putFile(cover, keys.cover, { contentType: 'image/jpeg' });
      stored.push(keys.cover);
      const grid = spriteGrid(entry.duration, this.#o.intervalSeconds, entry);
      if (grid) {
        const sprite = join(dir, 'sprite.jpg');
        await renderSprite(this.#o.ffmpegPath, input, sprite, grid, ffmpeg);
        await this.#o.store.putFile(sprite, keys.sprite, { contentType: 'image/jpeg' });
        stored.push(keys.sprite);
        const vtt = thumbnailsVtt(grid, entry.duration, basename(keys.sprite));
        await this.#o.store.putBuffer(Buffer.from(vtt), keys.vtt, { contentType: 'text/vtt' });
        stored.push(keys.vtt);
        made.sprite = keys.sprite;
        made.vtt = keys.vtt;
      }
      // They expire with their media.
      if (entry.expireTimeMs !== null) {
        for (const k of stored) await this.#o.store.setExpiry(k, new Date(entry.expireTimeMs));
      }
      if (!(await this.#o.catalog.setThumbnails(fileId, made))) {
        // The media was deleted while they were made.
        for (const k of stored) await this.#o.store.delete(k).catch(() => undefined);
        return;
      }
      this.#log.info({ fileId, key, tiles: grid?.tiles ?? 0 }, 'thumbnails stored');
      this.emit('made', fileId, made);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
