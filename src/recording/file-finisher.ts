import { createReadStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import PQueue from 'p-queue';
import {
  buildRecordEvent,
  newFileId,
  newVideoId,
  notifyUrls,
  type RecordFileHealth,
} from '../callback/index.js';
import type { CallbackConfig, RecordFormat } from '../config/schema.js';
import { countPackets, probeMedia, probeMpegTs, type MediaProbe } from '../ffmpeg/probe.js';
import { measureDuration, runFfmpeg } from '../ffmpeg/process.js';
import { faststartMp4 } from '../mux/index.js';
import type { MediaEntry, MediaIndexSink, MediaTimeline } from '../media/media-index.js';
import {
  extensionOf,
  livePlaylistFileName,
  objectKey,
  renderFileName,
  renderHead,
  segmentFileName,
  type NameOptions,
} from '../naming/names.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { PhaseClock } from '../shared/phase-clock.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { UploadQueue } from '../storage/upload-queue.js';
import { sha256File } from './file-digest.js';
import { buildFileHealth, textSha256, type MediaFacts } from './file-health.js';
import { renderPlaylist, type PlaylistDateRange, type PlaylistSegment } from './hls-playlist.js';
import { mediaKeys } from './media.js';
import { probeMp4 } from './mp4-probe.js';
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
  /** Retention per format from the recording's template; a missing format uses the finisher's retentionDays. */
  retentionDays?: Readonly<Partial<Record<RecordFormat, number>>>;
  /** TemplateId of the recording's Tencent template (event 100 record_temp_id); unset for the default one. */
  templateId?: number;
  /** TaskId of the on-demand task the recording serves (event 100 task_id); unset for automatic recordings. */
  taskId?: string;
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

/**
 * A file's timeline at its close (src/timeline): the sidecars to store beside it, the date ranges of its
 * playlist, and what the index and event 100 say of them; undefined when its window holds no event.
 */
export interface SidecarSource {
  forMedia(media: SidecarMedia): Promise<FileSidecars | undefined>;
}

/** A file at its close, as its sidecars need it. */
export interface SidecarMedia {
  fileId: string;
  /** Storage key of the file (its .m3u8, .mp4, .flv or .aac). */
  mediaKey: string;
  app: string;
  stream: string;
  /** Its HLS segments, or its one part, in wall-clock time. */
  segments: { startMs: number; durationSeconds: number; discontinuity?: boolean }[];
  retentionDays: number;
}

/** A file's sidecars: the objects to store before it, its playlist's date ranges, the index's summary. */
export interface FileSidecars {
  objects: { key: string; text: string }[];
  dateRanges: PlaylistDateRange[];
  timeline: MediaTimeline;
}

/** What event 100 needs of a file, kept in its upload job so it survives a restart. */
export interface AnnounceSpec {
  recordingId: string;
  app: string;
  stream: string;
  host: string;
  query: string;
  mediaStartMs: number;
  videoCodec: string;
  resolution: string;
  format: RecordFormat;
  key: string;
  size: number;
  startMs: number;
  endMs: number;
  durationSeconds: number;
  /** record_temp_id: the recording's TemplateId; absent for the default template (and in older jobs). */
  templateId?: string;
  /** An on-demand task's TaskId; absent: task_id is the recording id. */
  taskId?: string;
  /** Fixed when the file is queued, so a retried announce reports (and indexes) the same ids. */
  fileId?: string;
  videoId?: string;
  /** ffprobe's facts of a file probed while it was local (HLS: its first segment queued); else probed at announce. */
  metaData?: MediaProbe;
  /** Its timeline sidecars, stored before it (event 100 names them). */
  timeline?: MediaTimeline;
  /** Event 100's file_health, made while the file was local; absent in jobs of older versions. */
  fileHealth?: RecordFileHealth;
}

export interface FileFinisherOptions {
  ffmpegPath: string;
  store: ObjectStore;
  /** Where a stored file is played from (event 100's video_url); unset: the store's own URL. */
  urls?: Pick<ObjectStore, 'urlFor'>;
  uploads: UploadQueue;
  /** Tencent StorageTime for every stored object; 0 keeps them forever. */
  retentionDays: number;
  naming: NameOptions;
  hlsSegmentSeconds: number;
  callback: CallbackConfig;
  callbacks: CallbackSink | undefined;
  logger: Logger;
  /** Finalizing remuxes that may run at once. */
  concurrency: number;
  remuxTimeoutMs?: number;
  onFinished?: (file: FinishedFile) => void;
  /** ffprobe for the MetaData of the media index; without it, MetaData comes from what the stream announced. */
  ffprobePath?: string;
  /** Where each announced file is indexed (SearchMedia); written before event 100 goes out. */
  mediaIndex?: MediaIndexSink;
  /** Markers and live-room events of each file, as sidecars stored with it. */
  sidecars?: SidecarSource;
}

/** Turns closed work files into named, stored files and announces each with a Tencent event 100. */
export class FileFinisher {
  readonly #o: FileFinisherOptions;
  readonly #log: Logger;
  readonly #remuxes: PQueue;
  /** In-process MP4 faststarts: file copies, a few at once so a burst of ends does not hold every file open. */
  readonly #faststarts = new PQueue({ concurrency: 4 });
  /** Keys handed out but maybe not stored yet, so two recordings never pick the same name. */
  readonly #reserved = new Set<string>();
  /**
   * MetaData of each live recording's first HLS segment, probed while it was local (undefined: it could not be).
   * The announce uses it instead of an ffprobe per playlist when recordings end, all at once at a shutdown.
   */
  readonly #hlsProbes = new Map<string, Promise<MediaProbe | undefined>>();

  constructor(options: FileFinisherOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'finisher' });
    this.#remuxes = new PQueue({ concurrency: options.concurrency });
  }

  async #isTaken(key: string): Promise<boolean> {
    if (this.#reserved.has(key) || this.#o.uploads.isPendingKey(key)) return true;
    try {
      return (await this.#o.store.stat(key)) !== undefined;
    } catch (err) {
      // Storage down must not stop a recording: names carry the start second, so a clash is unlikely.
      this.#log.warn({ key, err: errorMessage(err) }, 'cannot check the name in storage, taking it');
      return false;
    }
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

  /** Queues one closed HLS segment, then the live playlist that names it. */
  async queueSegment(
    identity: RecordingIdentity,
    workPath: string,
    head: string,
    uri: string,
    livePlaylist: string,
    /** The segment's SHA-256, hashed by the recording: stored with it, not hashed again. */
    sha256?: string,
  ): Promise<void> {
    if (this.#o.ffprobePath && !this.#hlsProbes.has(identity.recordingId)) {
      const probed = this.#probeSegment(workPath);
      this.#hlsProbes.set(identity.recordingId, probed);
      // Before the enqueue: the file is moved by it.
      await probed;
    }
    const days = this.#retentionDays(identity, 'hls');
    await this.#o.uploads.enqueue(hlsLane(identity), [
      {
        kind: 'file',
        path: workPath,
        key: objectKey(identity.app, uri),
        retentionDays: days,
        ...(sha256 ? { sha256 } : {}),
      },
      // Same lane, after the segment: the stored playlist never names a segment not stored yet.
      {
        kind: 'text',
        text: livePlaylist,
        key: objectKey(identity.app, livePlaylistFileName(head)),
        retentionDays: 0,
      },
    ]);
    this.#reserved.delete(objectKey(identity.app, uri));
  }

  /**
   * Finalizes an FLV, MP4 or AAC part: remux, name, store, announce. `closed` false: ffmpeg died writing it.
   * `finalized`: `workPath` is already the remuxed file (`finalPathOf`), left by a crash before it was queued.
   * `facts`: what the recording knows of the part's media (file_health); unknown without.
   */
  async finishPart(
    identity: RecordingIdentity,
    format: RecordFormat,
    workPath: string,
    startMs: number,
    receivedEndMs: number,
    closed = true,
    options: { finalized?: boolean; facts?: MediaFacts } = {},
  ) {
    const naming = this.#o.naming;
    const phases = new PhaseClock();
    let endMs = receivedEndMs;
    let measured: number | undefined;
    if (!closed) {
      // A file ffmpeg never closed holds media only up to its last complete fragment, not all that was sent.
      measured = await measureDuration(this.#o.ffmpegPath, workPath, {
        logger: this.#log,
        timeoutMs: 60_000,
      });
      if (measured === 0) {
        // Cut before its first fragment: a header and no media, nothing to keep.
        this.#log.warn({ format, file: workPath }, 'unfinished file holds no media, dropped');
        await unlink(workPath);
        return;
      }
      if (measured !== undefined) endMs = startMs + measured * 1000;
    }
    const ext = extensionOf(format);
    const { key } = await this.#reserveFirstFree(
      identity.app,
      (n) => `${renderFileName(naming, identity.nameId, new Date(startMs), new Date(endMs), n)}.${ext}`,
    );
    try {
      const span = (endMs - startMs) / 1000;
      const days = this.#retentionDays(identity, format);
      const fileId = newFileId();
      // The sidecars need only the file's id, key and span: rendered while the file is remuxed and hashed.
      const sidecarsRendered = this.#sidecars(
        identity,
        { fileId, key },
        [{ startMs, durationSeconds: span }],
        days,
      );
      const finalPath = finalPathOf(workPath, format);
      const finalArgs = options.finalized ? null : OUTPUTS[format].finalizeArgs(workPath, finalPath);
      let source = workPath;
      if (finalArgs) {
        const remux = () =>
          this.#remuxes.add(() => {
            phases.lap('remuxWait');
            return runFfmpeg(this.#o.ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-y', ...finalArgs], {
              logger: this.#log,
              timeoutMs: this.#o.remuxTimeoutMs ?? 120_000,
            });
          });
        try {
          await (format === 'mp4' ? this.#faststart(workPath, finalPath, remux) : remux());
          source = finalPath;
        } catch (err) {
          // The work file is itself playable (fragmented MP4, plain FLV): keep it rather than lose it.
          this.#log.warn(
            { format, err: errorMessage(err) },
            'finalizing remux failed, storing the file as written',
          );
          await unlink(finalPath).catch(() => {});
        }
        // The remuxed file alone stands for the part from here: a crash now leaves it to be queued as is.
        if (source === finalPath) await unlink(workPath);
      }
      phases.lap('remux');
      const { size } = await stat(source);
      // Hashed as it will be stored: the upload moves this very file (and the audit trail takes this hash).
      const [metaData, sha256] = await Promise.all([this.#probeLocal(source, format), sha256File(source)]);
      phases.lap('probeAndHash');
      // ADTS has no timestamps: an AAC file holds its frames back to back, without a pause the push kept.
      const aacSeconds = format === 'aac' ? await this.#aacSeconds(source, metaData) : undefined;
      const duration = format === 'aac' ? (aacSeconds ?? span) : span;
      const spec = this.#spec(identity, format, key, size, startMs, endMs, duration, fileId);
      spec.fileHealth = buildFileHealth({
        sha256,
        // What the file holds: ffprobe's reading, else ffmpeg's (its segment list, or the cut file read through).
        durationSeconds: format === 'aac' ? aacSeconds : metaData?.duration || (measured ?? span),
        startMs,
        endMs,
        facts: options.facts,
        cut: !closed,
      });
      const sidecars = await sidecarsRendered;
      phases.lap('sidecars');
      await this.#o.uploads.enqueue(
        `file/${key}`,
        [...sidecarItems(sidecars, days), { kind: 'file', path: source, key, retentionDays: days, sha256 }],
        {
          ...spec,
          ...(metaData ? { metaData } : {}),
          ...(sidecars ? { timeline: sidecars.timeline } : {}),
        },
      );
      phases.lap('queue');
      this.#log.debug({ format, key, ...phases.laps }, 'file queued');
    } finally {
      this.#reserved.delete(key);
    }
  }

  /** Queues the final playlist (with ENDLIST) after every segment, then drops the live one; announced once stored. */
  async finishPlaylist(
    identity: RecordingIdentity,
    head: { head: string; disambiguator: number },
    segments: readonly PlaylistSegment[],
    segmentsSize: number,
    facts?: MediaFacts,
  ): Promise<void> {
    const phases = new PhaseClock();
    const metaData = await this.#hlsProbes.get(identity.recordingId);
    this.#hlsProbes.delete(identity.recordingId);
    phases.lap('probe');
    const first = segments[0];
    const last = segments.at(-1);
    if (!first || !last) return;
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
    const duration = segments.reduce((sum, s) => sum + s.durationSeconds, 0);
    const days = this.#retentionDays(identity, 'hls');
    // The size counts the playlist as rendered below; its date ranges add a few bytes not counted.
    const spec = this.#spec(identity, 'hls', key, segmentsSize, startMs, endMs, duration);
    const sidecars = await this.#sidecars(
      identity,
      spec,
      segments.map((s) => ({
        startMs: s.programDateTime.getTime(),
        durationSeconds: s.durationSeconds,
        discontinuity: s.discontinuity,
      })),
      days,
    );
    phases.lap('sidecars');
    const text = renderPlaylist(segments, true, this.#o.hlsSegmentSeconds, sidecars?.dateRanges);
    spec.size += Buffer.byteLength(text);
    spec.fileHealth = buildFileHealth({
      sha256: textSha256(text),
      segmentDigests: segments.map((s) => s.sha256),
      durationSeconds: duration,
      startMs,
      endMs,
      facts,
      // The recorder writes the playlist itself; a segment an ffmpeg death cut is still whole up to its end.
      cut: false,
    });
    await this.#o.uploads.enqueue(
      hlsLane(identity),
      [
        ...sidecarItems(sidecars, days),
        { kind: 'text', text, key, retentionDays: days },
        { kind: 'delete', key: objectKey(identity.app, livePlaylistFileName(head.head)) },
      ],
      {
        ...spec,
        ...(metaData ? { metaData } : {}),
        ...(sidecars ? { timeline: sidecars.timeline } : {}),
      },
    );
    phases.lap('queue');
    this.#log.debug({ format: 'hls', key, segments: segments.length, ...phases.laps }, 'playlist queued');
  }

  /** The file's sidecars; none (logged) when the timeline cannot be read: the file is stored all the same. */
  async #sidecars(
    identity: RecordingIdentity,
    spec: Pick<AnnounceSpec, 'fileId' | 'key'>,
    segments: { startMs: number; durationSeconds: number; discontinuity?: boolean }[],
    retentionDays: number,
  ) {
    if (!this.#o.sidecars) return undefined;
    try {
      return await this.#o.sidecars.forMedia({
        fileId: spec.fileId!,
        mediaKey: spec.key,
        app: identity.app,
        stream: identity.stream,
        segments,
        retentionDays,
      });
    } catch (err) {
      this.#log.warn(
        { key: spec.key, err: errorMessage(err) },
        'cannot read the timeline, storing the file without sidecars',
      );
      return undefined;
    }
  }

  #retentionDays(identity: RecordingIdentity, format: RecordFormat): number {
    return identity.retentionDays?.[format] ?? this.#o.retentionDays;
  }

  /**
   * An MP4's faststart, in process: its fragments' tables become one moov and its data is copied behind it, with
   * no ffmpeg to wait for. A work file it cannot read (one cut short by a crash) is remuxed by ffmpeg instead.
   */
  async #faststart(workPath: string, finalPath: string, remux: () => Promise<unknown>): Promise<void> {
    try {
      await this.#faststarts.add(() => faststartMp4(workPath, finalPath));
    } catch (err) {
      this.#log.info({ file: workPath, reason: errorMessage(err) }, 'MP4 remuxed by ffmpeg');
      await remux();
    }
  }

  /** MetaData of a local file; undefined (logged) when ffprobe cannot read it: the file is stored all the same. */
  /** The audio an AAC file holds: its frames of 1024 samples each; undefined when it cannot be counted. */
  async #aacSeconds(path: string, metaData: MediaProbe | undefined): Promise<number | undefined> {
    const rate = metaData?.audioStreams[0]?.samplingRate;
    if (!this.#o.ffprobePath || !rate) return undefined;
    try {
      const { audio } = await countPackets(this.#o.ffprobePath, path, { timeoutMs: 60_000 });
      return (audio * 1024) / rate;
    } catch (err) {
      this.#log.warn({ path, err: errorMessage(err) }, 'cannot count the AAC frames');
      return undefined;
    }
  }

  async #probeLocal(path: string, format?: RecordFormat): Promise<MediaProbe | undefined> {
    if (!this.#o.ffprobePath) return undefined;
    try {
      // A finalized MP4 says it all in its moov: no ffprobe (a spawn blocks the event loop for milliseconds,
      // and at a burst of ends there is one per file).
      const fromMoov = format === 'mp4' ? await probeMp4(path).catch(() => undefined) : undefined;
      return fromMoov ?? (await probeMedia(this.#o.ffprobePath, path));
    } catch (err) {
      this.#log.warn({ path, err: errorMessage(err) }, 'cannot probe the file, indexing it without MetaData');
      return undefined;
    }
  }

  /** MetaData of a local HLS segment; undefined (logged) when ffprobe cannot read it (the announce probes again). */
  async #probeSegment(path: string): Promise<MediaProbe | undefined> {
    try {
      return await probeMpegTs(this.#o.ffprobePath!, createReadStream(path));
    } catch (err) {
      this.#log.warn({ path, err: errorMessage(err) }, 'cannot probe the first segment');
      return undefined;
    }
  }

  /** MetaData of a stored HLS playlist: the first segment's streams, the playlist's size and duration. */
  async #probeStoredHls(spec: AnnounceSpec): Promise<MediaProbe | undefined> {
    if (!this.#o.ffprobePath) return undefined;
    // Storage errors propagate (the job retries); only an unreadable segment falls back.
    const [, firstSegment] = await mediaKeys(this.#o.store, spec.key);
    if (!firstSegment) return undefined;
    const segment = await this.#o.store.get(firstSegment);
    try {
      return await probeMpegTs(this.#o.ffprobePath, segment);
    } catch (err) {
      this.#log.warn(
        { key: spec.key, err: errorMessage(err) },
        'cannot probe the playlist, indexing it without MetaData',
      );
      return undefined;
    }
  }

  /** Writes the media index entry of an announced file (same FileId as its event 100). */
  async #index(
    spec: AnnounceSpec,
    file: FinishedFile,
    videoId: string,
    announcement: Record<string, unknown> | undefined,
  ): Promise<void> {
    const index = this.#o.mediaIndex;
    if (!index) return;
    const probed = spec.metaData ?? (spec.format === 'hls' ? await this.#probeStoredHls(spec) : undefined);
    const meta = probed ? withStoredTotals(probed, spec) : announcedMetaData(spec);
    const expiresAt = (await this.#o.store.stat(spec.key))?.expiresAt;
    const fileName = spec.key.slice(spec.key.lastIndexOf('/') + 1);
    const entry: MediaEntry = {
      fileId: file.fileId,
      name: fileName.slice(0, fileName.lastIndexOf('.')),
      key: spec.key,
      format: spec.format,
      streamId: spec.stream,
      app: spec.app,
      domain: this.#o.callback.domain ?? spec.host,
      createTimeMs: Date.now(),
      expireTimeMs: expiresAt ? expiresAt.getTime() : null,
      startMs: spec.startMs,
      endMs: spec.endMs,
      size: meta.size,
      duration: meta.duration,
      container: meta.container,
      width: meta.width,
      height: meta.height,
      bitrate: meta.bitrate,
      videoStreams: meta.videoStreams,
      audioStreams: meta.audioStreams,
      vid: videoId,
      taskId: spec.taskId ?? spec.recordingId,
      sourceContext: '',
      ...(announcement ? { announcement } : {}),
      ...(spec.timeline ? { timeline: spec.timeline } : {}),
    };
    await index.add(entry);
  }

  #spec(
    identity: RecordingIdentity,
    format: RecordFormat,
    key: string,
    size: number,
    startMs: number,
    endMs: number,
    durationSeconds: number,
    fileId = newFileId(),
  ): AnnounceSpec {
    const video = identity.tracks?.video;
    return {
      recordingId: identity.recordingId,
      app: identity.app,
      stream: identity.stream,
      host: identity.host,
      query: identity.query,
      mediaStartMs: identity.mediaStartMs,
      videoCodec: video ? video.codec : '',
      resolution: video?.width && video.height ? `${video.width}x${video.height}` : '',
      format,
      key,
      size,
      startMs,
      endMs,
      durationSeconds: Math.round(durationSeconds * 1000) / 1000,
      fileId,
      videoId: newVideoId(this.#o.callback.appid),
      ...(identity.templateId !== undefined ? { templateId: String(identity.templateId) } : {}),
      ...(identity.taskId !== undefined ? { taskId: identity.taskId } : {}),
    };
  }

  /** Announces a file whose objects are all stored: onFinished, then event 100 through the outbox. */
  async announce(spec: AnnounceSpec): Promise<FinishedFile> {
    const videoId = spec.videoId ?? newVideoId(this.#o.callback.appid);
    const file: FinishedFile = {
      format: spec.format,
      key: spec.key,
      url: await (this.#o.urls ?? this.#o.store).urlFor(spec.key),
      fileId: spec.fileId ?? newFileId(),
      size: spec.size,
      startMs: spec.startMs,
      endMs: spec.endMs,
      durationSeconds: spec.durationSeconds,
    };
    const { callback, callbacks } = this.#o;
    const url = notifyUrls(callback).record;
    const body =
      url && callbacks
        ? buildRecordEvent({
            appid: callback.appid,
            domain: callback.domain ?? spec.host,
            appName: spec.app,
            streamId: spec.stream,
            fileId: file.fileId,
            format: spec.format,
            taskId: spec.taskId ?? spec.recordingId,
            templateId: spec.templateId ?? '',
            startMs: spec.startMs,
            endMs: spec.endMs,
            durationSeconds: spec.durationSeconds,
            fileSize: spec.size,
            // Tencent: callbacks of task recordings carry no stream_param.
            streamParam: spec.taskId ? '' : spec.query,
            videoUrl: file.url,
            videoId,
            mediaStartMs: spec.mediaStartMs,
            videoCodec: spec.videoCodec,
            resolution: spec.resolution,
            sessionId: spec.recordingId,
            // Outside Tencent's fields: lets a receiver reject a damaged file without reading it.
            ...(spec.fileHealth ? { fileHealth: spec.fileHealth } : {}),
          })
        : undefined;
    if (body && spec.timeline) {
      // Outside Tencent's fields: where the file's markers and room events are.
      const urls = this.#o.urls ?? this.#o.store;
      Object.assign(body, {
        timeline: {
          events_url: await urls.urlFor(spec.timeline.events),
          danmaku_url: await urls.urlFor(spec.timeline.danmaku),
          chapters_url: await urls.urlFor(spec.timeline.chapters),
          markers: spec.timeline.markers.length,
          messages: spec.timeline.messages,
          products: spec.timeline.products,
        },
      });
    }
    // Indexed first, with the event it is announced by: a failure fails the upload job, which retries with the
    // same ids, so no callback names a file the media API cannot find.
    await this.#index(spec, file, videoId, body as unknown as Record<string, unknown> | undefined);
    if (url && callbacks && body) {
      await callbacks.enqueue(url, body as unknown as Record<string, unknown>);
    }
    this.#log.info(
      { format: file.format, key: file.key, size: file.size, duration: file.durationSeconds },
      'file stored',
    );
    this.#o.onFinished?.(file);
    return file;
  }
}

/** Probed MetaData with the totals the recorder knows better: all objects' size, the playlist's duration. */
function withStoredTotals(probe: MediaProbe, spec: AnnounceSpec): MediaProbe {
  if (spec.format !== 'hls') return probe;
  const duration = spec.durationSeconds;
  return {
    ...probe,
    container: 'hls',
    size: spec.size,
    duration,
    bitrate: duration > 0 ? Math.round((spec.size * 8) / duration) : 0,
  };
}

/** The MetaData an index entry falls back to without ffprobe: what the stream announced. */
function announcedMetaData(spec: AnnounceSpec): MediaProbe {
  const [width = 0, height = 0] = spec.resolution ? spec.resolution.split('x').map(Number) : [];
  return {
    size: spec.size,
    duration: spec.durationSeconds,
    container: spec.format,
    bitrate: spec.durationSeconds > 0 ? Math.round((spec.size * 8) / spec.durationSeconds) : 0,
    width,
    height,
    videoStreams: spec.videoCodec ? [{ codec: spec.videoCodec, bitrate: 0, width, height, fps: 0 }] : [],
    audioStreams: [],
  };
}

/** The upload steps of a file's sidecars: before the file, so event 100 never names one not stored. */
function sidecarItems(
  sidecars: { objects: { key: string; text: string }[] } | undefined,
  retentionDays: number,
): { kind: 'text'; text: string; key: string; retentionDays: number }[] {
  return (sidecars?.objects ?? []).map((o) => ({ kind: 'text', text: o.text, key: o.key, retentionDays }));
}

/** Where a part's remuxed file is written beside its work file. */
export function finalPathOf(workPath: string, format: RecordFormat): string {
  return `${workPath}.final.${extensionOf(format)}`;
}

/** Upload lane of a recording's HLS objects: segments, live playlists and the final playlist, in order. */
function hlsLane(identity: RecordingIdentity): string {
  return `hls/${identity.recordingId}`;
}
