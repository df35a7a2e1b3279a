import { unlink } from 'node:fs/promises';
import PQueue from 'p-queue';
import { buildRecordEvent, newFileId, newVideoId } from '../callback/index.js';
import type { CallbackConfig, RecordFormat } from '../config/schema.js';
import { measureDuration, runFfmpeg } from '../ffmpeg/process.js';
import {
  extensionOf,
  objectKey,
  renderFileName,
  renderHead,
  segmentFileName,
  type NameOptions,
} from '../naming/names.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { ObjectStore, StoredObject } from '../storage/object-store.js';
import { renderPlaylist, type PlaylistSegment } from './hls-playlist.js';
import { OUTPUTS } from './outputs/index.js';
import type { Tracks } from './tracks.js';

/** Facts shared by every file of one recording. */
export interface RecordingIdentity {
  recordingId: string;
  app: string;
  stream: string;
  /** The id file names start with: userdefinerecordid when the push carries one, else the stream id. */
  nameId: string;
  host: string;
  /** Push query string, verbatim. */
  query: string;
  mediaStartMs: number;
  tracks: Tracks | undefined;
}

/** A finished, stored file, as announced by event 100. */
export interface FinishedFile {
  format: RecordFormat;
  key: string;
  url: string;
  fileId: string;
  size: number;
  startMs: number;
  endMs: number;
  durationSeconds: number;
}

/** Sends a callback body durably (the outbox). */
export interface CallbackSink {
  enqueue(url: string, body: Record<string, unknown>): Promise<unknown>;
}

export interface FileFinisherOptions {
  ffmpegPath: string;
  store: ObjectStore;
  naming: NameOptions;
  hlsSegmentSeconds: number;
  callback: CallbackConfig;
  callbacks: CallbackSink | undefined;
  logger: Logger;
  /** Finalizing remuxes that may run at once. */
  concurrency: number;
  remuxTimeoutMs?: number;
  onFinished?: (file: FinishedFile) => void;
}

/** Turns closed work files into named, stored files and announces each with a Tencent event 100. */
export class FileFinisher {
  readonly #o: FileFinisherOptions;
  readonly #log: Logger;
  readonly #remuxes: PQueue;
  /** Keys handed out but maybe not stored yet, so two recordings never pick the same name. */
  readonly #reserved = new Set<string>();

  constructor(options: FileFinisherOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'finisher' });
    this.#remuxes = new PQueue({ concurrency: options.concurrency });
  }

  async #isTaken(key: string): Promise<boolean> {
    return this.#reserved.has(key) || (await this.#o.store.exists(key));
  }

  async #reserveFirstFree(app: string, nameFor: (n: number) => string): Promise<{ key: string; n: number }> {
    for (let n = 0; n < 10_000; n++) {
      const key = objectKey(app, nameFor(n));
      if (!(await this.#isTaken(key))) {
        this.#reserved.add(key);
        return { key, n };
      }
    }
    throw new Error(`no free name for ${nameFor(0)}`);
  }

  /** Picks the HLS head (shared prefix) of a new recording, unique among recordings. */
  async reserveHead(
    identity: RecordingIdentity,
    startMs: number,
  ): Promise<{ head: string; disambiguator: number }> {
    const start = new Date(startMs);
    const { n } = await this.#reserveFirstFree(identity.app, (n) =>
      segmentFileName(renderHead(this.#o.naming, identity.nameId, start, n), 0),
    );
    return { head: renderHead(this.#o.naming, identity.nameId, start, n), disambiguator: n };
  }

  /** Stores one closed HLS segment under its final name. */
  async storeSegment(
    identity: RecordingIdentity,
    workPath: string,
    head: string,
    seq: number,
  ): Promise<StoredObject> {
    const key = objectKey(identity.app, segmentFileName(head, seq));
    const stored = await this.#o.store.putFile(workPath, key);
    this.#reserved.delete(key);
    return stored;
  }

  /** Finalizes an FLV, MP4 or AAC part: remux, name, store, announce. `closed` false: ffmpeg died writing it. */
  async finishPart(
    identity: RecordingIdentity,
    format: RecordFormat,
    workPath: string,
    startMs: number,
    receivedEndMs: number,
    closed = true,
  ) {
    const naming = this.#o.naming;
    let endMs = receivedEndMs;
    if (!closed) {
      // A file ffmpeg never closed holds media only up to its last complete fragment, not all that was sent.
      const seconds = await measureDuration(this.#o.ffmpegPath, workPath, {
        logger: this.#log,
        timeoutMs: 60_000,
      });
      if (seconds !== undefined) endMs = startMs + seconds * 1000;
    }
    const ext = extensionOf(format);
    const { key } = await this.#reserveFirstFree(
      identity.app,
      (n) => `${renderFileName(naming, identity.nameId, new Date(startMs), new Date(endMs), n)}.${ext}`,
    );
    try {
      const finalArgs = OUTPUTS[format].finalizeArgs(workPath, `${workPath}.final.${ext}`);
      let source = workPath;
      if (finalArgs) {
        try {
          await this.#remuxes.add(() =>
            runFfmpeg(this.#o.ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-y', ...finalArgs], {
              logger: this.#log,
              timeoutMs: this.#o.remuxTimeoutMs ?? 120_000,
            }),
          );
          source = `${workPath}.final.${ext}`;
        } catch (err) {
          // The work file is itself playable (fragmented MP4, plain FLV): keep it rather than lose it.
          this.#log.warn(
            { format, err: errorMessage(err) },
            'finalizing remux failed, storing the file as written',
          );
          await unlink(`${workPath}.final.${ext}`).catch(() => {});
        }
      }
      const stored = await this.#o.store.putFile(source, key);
      if (source !== workPath) await unlink(workPath).catch(() => {});
      return await this.#announce(identity, format, stored, startMs, endMs, (endMs - startMs) / 1000);
    } finally {
      this.#reserved.delete(key);
    }
  }

  /** Writes the final playlist (with ENDLIST), stores it and announces the whole HLS recording. */
  async finishPlaylist(
    identity: RecordingIdentity,
    head: { head: string; disambiguator: number },
    segments: readonly PlaylistSegment[],
    segmentsSize: number,
  ): Promise<FinishedFile | undefined> {
    const first = segments[0];
    const last = segments.at(-1);
    if (!first || !last) return undefined;
    const startMs = first.programDateTime.getTime();
    const endMs = last.programDateTime.getTime() + last.durationSeconds * 1000;
    const name = renderFileName(
      this.#o.naming,
      identity.nameId,
      new Date(startMs),
      new Date(endMs),
      head.disambiguator,
    );
    const key = objectKey(identity.app, `${name}.m3u8`);
    const text = renderPlaylist(segments, true, this.#o.hlsSegmentSeconds);
    const stored = await this.#o.store.putBuffer(Buffer.from(text), key);
    const duration = segments.reduce((sum, s) => sum + s.durationSeconds, 0);
    return this.#announce(
      identity,
      'hls',
      { key, size: stored.size + segmentsSize },
      startMs,
      endMs,
      duration,
    );
  }

  async #announce(
    identity: RecordingIdentity,
    format: RecordFormat,
    stored: StoredObject,
    startMs: number,
    endMs: number,
    durationSeconds: number,
  ): Promise<FinishedFile> {
    const file: FinishedFile = {
      format,
      key: stored.key,
      url: this.#o.store.urlFor(stored.key),
      fileId: newFileId(),
      size: stored.size,
      startMs,
      endMs,
      durationSeconds: Math.round(durationSeconds * 1000) / 1000,
    };
    this.#log.info({ format, key: file.key, size: file.size, duration: file.durationSeconds }, 'file closed');
    this.#o.onFinished?.(file);
    const { callback, callbacks } = this.#o;
    if (callback.url && callbacks) {
      const video = identity.tracks?.video;
      const body = buildRecordEvent({
        appid: callback.appid,
        domain: callback.domain ?? identity.host,
        appName: identity.app,
        streamId: identity.stream,
        fileId: file.fileId,
        format,
        taskId: identity.recordingId,
        templateId: '',
        startMs,
        endMs,
        durationSeconds: file.durationSeconds,
        fileSize: file.size,
        streamParam: identity.query,
        videoUrl: file.url,
        videoId: newVideoId(callback.appid),
        mediaStartMs: identity.mediaStartMs,
        videoCodec: video ? video.codec : '',
        resolution: video?.width && video.height ? `${video.width}x${video.height}` : '',
        sessionId: identity.recordingId,
      });
      await callbacks.enqueue(callback.url, body as unknown as Record<string, unknown>);
    }
    return file;
  }
}
