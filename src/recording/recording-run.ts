import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordEngine, RecordFormat } from '../config/schema.js';
import type { FfmpegExit } from '../ffmpeg/process.js';
import type { FfmpegCapabilities } from '../ffmpeg/capabilities.js';
import { writeTagTimestamp, type MediaPacket } from '../ingest/index.js';
import { FfmpegExitError, errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { isStalled } from './backpressure.js';
import { OUTPUTS, listFileName, workFileNumber, workFileRegExp, type OutputSpec } from './outputs/index.js';
import { startEngine, type RunEngine } from './run-engine.js';
import { SegmentListReader, type ClosedFileSource } from './segment-list.js';
import {
  decideTracks,
  emptyObservation,
  observe,
  videoLeadMs,
  type TrackObservation,
  type Tracks,
} from './tracks.js';

/** A file a run has finished writing (or left behind when ffmpeg died), in the run's work dir. */
export interface RunFile {
  format: RecordFormat;
  path: string;
  /** Number ffmpeg gave the file (HLS: the media sequence number). */
  number: number;
  /** Wall-clock span of the file's media, in ms. */
  startMs: number;
  endMs: number;
  /** False for a file ffmpeg never closed (it died); it is still readable, but may be cut short. */
  closed: boolean;
}

/** How a run ended. `stalled`: ffmpeg stopped taking input, more than the cap piled up, and it was killed. */
export type RunEnd =
  | { kind: 'completed' }
  | { kind: 'died'; error: FfmpegExitError }
  | { kind: 'start-failed'; reason: string }
  | { kind: 'stalled'; bufferedBytes: number; maxBufferedBytes: number };

export interface RunEvents {
  started: [Tracks, RecordFormat[]];
  'format-unavailable': [RecordFormat, string];
  file: [RunFile];
  ended: [RunEnd];
}

export interface RunOptions {
  index: number;
  dir: string;
  ffmpegPath: string;
  /** What writes the run's files; ffmpeg where the native muxer does not cover the run. */
  engine?: RecordEngine;
  /** What that ffmpeg can read (probed at start); H.264 only when absent. */
  ffmpegCapabilities?: FfmpegCapabilities;
  formats: readonly RecordFormat[];
  hlsSegmentSeconds: number;
  /** Split length per format (FLV, MP4, AAC); HLS uses hlsSegmentSeconds. */
  maxFileSeconds: Readonly<Record<RecordFormat, number>>;
  /** Read when ffmpeg starts: HLS numbering continues across runs. */
  hlsStartNumber: () => number;
  logger: Logger;
  now: () => number;
  /** How often the segment lists are read until they are watched. */
  pollMs: number;
  /** How often watched segment lists are read anyway, in case a change was not reported. */
  watchedPollMs: number;
  /** How long writes to ffmpeg are gathered into one (see FfmpegProcess). */
  writeBatchMs: number;
  /** How long ffmpeg may take to flush after its input ends before it is killed. */
  stopGraceMs: number;
  /** Bytes buffered while the tracks are being decided, before the run gives up waiting. */
  maxProbeBytes: number;
  /** Bytes buffered for ffmpeg (its stdin and the run's own buffer) before the run ends as stalled. */
  maxBufferedBytes: number;
  /** Script and sequence-header tags to lead with when the run starts mid-publish. */
  leadingTags?: readonly MediaPacket[];
  /** ffmpeg starts only after this settles (the previous run of the recording has ended). */
  after?: Promise<unknown> | undefined;
  /** Wall-clock time of the first packet the run is given, when it arrived before (a replayed GOP). */
  firstPacketWallMs?: number;
  /** Awaited once the tracks are known and before ffmpeg is spawned (the recording journals the run). */
  prepare?: () => Promise<void>;
}

type RunState = 'probing' | 'running' | 'stopping' | 'ended';

/** One engine (an ffmpeg process, or the native muxer) recording one stretch of a publish into every format. */
export class RecordingRun extends TypedEmitter<RunEvents> {
  readonly index: number;
  readonly #o: RunOptions;
  readonly #log: Logger;
  #state: RunState = 'probing';
  #seen: TrackObservation = emptyObservation();
  #buffer: MediaPacket[] = [];
  #bufferBytes = 0;
  #proc: RunEngine | undefined;
  #readers = new Map<RecordFormat, ClosedFileSource>();
  #emitted = new Set<string>();
  #lastEnd = new Map<RecordFormat, number>();
  #poller: NodeJS.Timeout | undefined;
  #listsClosed = false;
  #polling: Promise<void> = Promise.resolve();
  #inputEnded = false;
  #awaitKeyframe: boolean;
  /** Bytes buffered when the run gave up on a stalled ffmpeg. */
  #stalledAt: number | undefined;
  /** Wall-clock time and dts of the first media packet given to ffmpeg: output time 0. */
  firstMediaWallMs: number | undefined;
  #firstMediaDts = 0;
  #lastMediaDts = 0;
  tracks: Tracks | undefined;
  readonly ended: Promise<RunEnd>;
  #resolveEnded!: (end: RunEnd) => void;

  constructor(options: RunOptions) {
    super();
    this.#o = options;
    this.index = options.index;
    this.#log = options.logger.child({ runId: options.index });
    this.#awaitKeyframe = Boolean(options.leadingTags?.length);
    for (const tag of options.leadingTags ?? []) this.#seen = observe(this.#seen, tag);
    this.ended = new Promise((resolve) => (this.#resolveEnded = resolve));
  }

  get state(): RunState {
    return this.#state;
  }

  /** Wall-clock time of the last media packet, mapped from its dts. */
  get lastMediaWallMs(): number | undefined {
    return this.firstMediaWallMs === undefined
      ? undefined
      : this.firstMediaWallMs + (this.#lastMediaDts - this.#firstMediaDts);
  }

  /** Bytes ffmpeg has not taken yet. */
  get backlogBytes(): number {
    return this.#proc?.pendingInputBytes ?? this.#bufferBytes;
  }

  write(packet: MediaPacket): void {
    if (this.#state === 'stopping' || this.#state === 'ended') return;
    if (this.#awaitKeyframe) {
      // A run that starts mid-publish begins at a video keyframe, so its first segment decodes.
      const hasVideo = this.#seen.videoConfigured;
      if (packet.kind === 'script' || packet.isSequenceHeader) {
        this.#seen = observe(this.#seen, packet);
        return;
      }
      if (hasVideo && !(packet.kind === 'video' && packet.isKeyFrame)) return;
      this.#awaitKeyframe = false;
      this.#buffer = (this.#o.leadingTags ?? []).map((tag) => restamp(tag, packet.dts));
      this.#bufferBytes = this.#buffer.reduce((sum, tag) => sum + tag.tag.length, 0);
    }
    if (packet.kind !== 'script') {
      if (this.firstMediaWallMs === undefined) {
        this.firstMediaWallMs = this.#o.firstPacketWallMs ?? this.#o.now();
        this.#firstMediaDts = packet.dts;
      }
      this.#lastMediaDts = packet.dts;
    }
    if (this.#proc && this.#state === 'running') {
      this.#proc.write(packet);
      this.#checkBacklog();
      return;
    }
    this.#buffer.push(packet);
    this.#bufferBytes += packet.tag.length;
    if (this.tracks) {
      // Decided; waiting for the previous run to end, which is bounded like ffmpeg's stdin.
      this.#checkBacklog();
      return;
    }
    this.#seen = observe(this.#seen, packet);
    const decision = decideTracks(this.#seen, this.#o.ffmpegCapabilities);
    if (decision === 'wait') {
      // No ffmpeg yet, so nothing stalls: a probe that outgrows either limit finds no tracks.
      const limit = Math.min(this.#o.maxProbeBytes, this.#o.maxBufferedBytes);
      if (this.#bufferBytes > limit) this.#fail(`no playable tracks found in the first ${limit} bytes`);
      return;
    }
    if ('unsupported' in decision) {
      this.#fail(decision.unsupported);
      return;
    }
    void this.#start(decision);
  }

  /** The publish ended: flush what was received and let ffmpeg finish. */
  endInput(): void {
    if (this.#inputEnded) return;
    this.#inputEnded = true;
    if (this.#state === 'probing') {
      const decision = decideTracks(
        { ...this.#seen, lastDts: Number.MAX_SAFE_INTEGER },
        this.#o.ffmpegCapabilities,
      );
      if (this.#buffer.length && decision !== 'wait' && !('unsupported' in decision)) {
        void this.#start(decision);
      } else {
        this.#finish({ kind: 'completed' });
      }
      return;
    }
    if (this.#state === 'running') void this.#stop();
  }

  /** Past the cap, stops writing and kills ffmpeg (SIGKILL reaches a stopped process too); files are salvaged. */
  #checkBacklog(): void {
    const backlog = { stdinBytes: this.#proc?.pendingInputBytes ?? 0, heldBytes: this.#bufferBytes };
    if (!isStalled(backlog, this.#o.maxBufferedBytes)) return;
    this.#stalledAt = backlog.stdinBytes + backlog.heldBytes;
    this.#log.error(
      { bufferedBytes: this.#stalledAt, maxBufferedBytes: this.#o.maxBufferedBytes, pid: this.#proc?.pid },
      'ffmpeg stalled',
    );
    this.#buffer = [];
    this.#bufferBytes = 0;
    if (!this.#proc) {
      this.#finish(this.#stalledEnd(this.#stalledAt));
      return;
    }
    this.#state = 'stopping';
    this.#proc.kill('SIGKILL');
  }

  #stalledEnd(bufferedBytes: number): RunEnd {
    return { kind: 'stalled', bufferedBytes, maxBufferedBytes: this.#o.maxBufferedBytes };
  }

  /** Kills ffmpeg as if it had died (used to test and to fail stalled runs). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#proc?.kill(signal);
  }

  /** The pid of the run's ffmpeg; undefined before it starts, or when the native muxer writes every format. */
  get pid(): number | undefined {
    return this.#proc?.pid;
  }

  /** True from the start of its engine (ffmpeg or the native muxer) until it is told to stop. */
  get writing(): boolean {
    return this.#proc !== undefined && this.#state === 'running';
  }

  async #start(tracks: Tracks): Promise<void> {
    this.#state = 'running';
    this.tracks = tracks;
    const formats: RecordFormat[] = [];
    for (const format of this.#o.formats) {
      const ok = OUTPUTS[format].supports(tracks);
      if (ok === true) formats.push(format);
      else {
        this.#log.error({ format, reason: ok }, 'format unavailable for this stream');
        this.emit('format-unavailable', format, ok);
      }
    }
    if (formats.length === 0) {
      this.#fail('none of the configured formats can be made from this stream');
      return;
    }
    await this.#o.after;
    if (this.#ended) return; // stalled while waiting for the previous run
    await mkdir(this.#o.dir, { recursive: true });
    await this.#o.prepare?.();
    if (this.#ended) return;
    const specs: OutputSpec[] = formats.map((format) => ({
      format,
      dir: this.#o.dir,
      segmentSeconds: format === 'hls' ? this.#o.hlsSegmentSeconds : this.#o.maxFileSeconds[format],
      startNumber: format === 'hls' ? this.#o.hlsStartNumber() : 0,
    }));
    const { engine: proc, split } = startEngine({
      engine: this.#o.engine ?? 'ffmpeg',
      tracks,
      specs,
      ffmpegPath: this.#o.ffmpegPath,
      videoLeadMs: videoLeadMs(this.#seen),
      writeBatchMs: this.#o.writeBatchMs,
      logger: this.#log,
    });
    this.#proc = proc;
    for (const format of formats)
      this.#readers.set(
        format,
        proc.reported.get(format) ?? new SegmentListReader(join(this.#o.dir, listFileName(format))),
      );
    this.#log.info(
      { native: split.native, ffmpeg: split.ffmpeg, reason: split.reason, pid: proc.pid, formats, tracks },
      'recording started',
    );
    this.emit('started', tracks, formats);
    for (const packet of this.#buffer) proc.write(packet);
    this.#buffer = [];
    this.#bufferBytes = 0;
    this.#schedulePoll();
    void proc.exited
      .then((exit) => this.#onExit(exit))
      .catch((err: unknown) => {
        // The run must end whatever happened while collecting its files.
        this.#log.error({ err: errorMessage(err) }, 'collecting run files failed');
        this.#finish({ kind: 'died', error: new FfmpegExitError(errorMessage(err), null, null, []) });
      });
    if (this.#inputEnded) void this.#stop();
  }

  async #stop(): Promise<void> {
    // No ffmpeg yet (waiting for the previous run): #start stops the one it spawns, seeing the input ended.
    if (this.#state !== 'running' || !this.#proc) return;
    this.#state = 'stopping';
    await this.#proc?.stop(this.#o.stopGraceMs);
  }

  /** Reads the lists now and then: often until each is watched, seldom after (a missed change is found then). */
  #schedulePoll(): void {
    if (this.#listsClosed) return;
    const onChange = () => void this.#poll();
    let watched = true;
    for (const reader of this.#readers.values()) watched = reader.watch(onChange) && watched;
    this.#poller = setTimeout(
      () => void this.#poll().then(() => this.#schedulePoll()),
      watched ? this.#o.watchedPollMs : this.#o.pollMs,
    );
  }

  #closeLists(): void {
    this.#listsClosed = true;
    clearTimeout(this.#poller);
    for (const reader of this.#readers.values()) reader.unwatch();
  }

  #poll(): Promise<void> {
    this.#polling = this.#polling
      .then(() => this.#readLists())
      .catch((err) => {
        this.#log.warn({ err }, 'reading segment lists failed');
      });
    return this.#polling;
  }

  /** Files listed by ffmpeg are closed. */
  async #readLists(): Promise<void> {
    for (const [format, reader] of this.#readers) {
      for (const entry of await reader.readNew()) {
        this.#emitFile(format, entry.file, entry.startSeconds, entry.endSeconds, true);
      }
    }
  }

  #emitFile(
    format: RecordFormat,
    file: string,
    startSeconds: number,
    endSeconds: number,
    closed: boolean,
  ): void {
    if (this.#emitted.has(file)) return;
    this.#emitted.add(file);
    this.#lastEnd.set(format, endSeconds);
    const base = this.firstMediaWallMs ?? this.#o.now();
    this.emit('file', {
      format,
      path: join(this.#o.dir, file),
      number: workFileNumber(file),
      startMs: base + startSeconds * 1000,
      endMs: base + endSeconds * 1000,
      closed,
    });
  }

  async #onExit(exit: FfmpegExit): Promise<void> {
    this.#closeLists();
    await this.#poll();
    // Files ffmpeg left open (it died or was killed) are kept: fragmented MP4 and TS stay readable.
    await this.#salvage();
    if (this.#stalledAt !== undefined) {
      this.#finish(this.#stalledEnd(this.#stalledAt));
      return;
    }
    const clean = exit.code === 0 && exit.requested;
    if (clean) {
      this.#log.info('ffmpeg finished');
      this.#finish({ kind: 'completed' });
      return;
    }
    const detail = exit.spawnError ?? `code ${exit.code}, signal ${exit.signal}`;
    const error = new FfmpegExitError(`ffmpeg exited (${detail})`, exit.code, exit.signal, exit.stderrTail);
    this.#log.error(
      { code: exit.code, signal: exit.signal, stderr: exit.stderrTail.slice(-5) },
      'ffmpeg died',
    );
    this.#finish(
      this.#emitted.size === 0 && exit.spawnError
        ? { kind: 'start-failed', reason: detail }
        : { kind: 'died', error },
    );
  }

  async #salvage(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#o.dir);
    } catch {
      return;
    }
    const mediaEndSeconds = (this.#lastMediaDts - this.#firstMediaDts) / 1000;
    for (const format of this.#readers.keys()) {
      const written = workFileRegExp(OUTPUTS[format].pattern);
      for (const name of names.sort()) {
        if (!written.test(name) || this.#emitted.has(name)) continue;
        const path = join(this.#o.dir, name);
        const size = await stat(path).then(
          (s) => s.size,
          () => -1,
        );
        if (size < 0) continue;
        if (size === 0) {
          await unlink(path);
          continue;
        }
        const start = this.#lastEnd.get(format) ?? 0;
        this.#emitFile(format, name, start, Math.max(start, mediaEndSeconds), false);
      }
    }
  }

  #fail(reason: string): void {
    this.#log.error({ reason }, 'recording cannot start');
    this.#buffer = [];
    this.#finish({ kind: 'start-failed', reason });
  }

  get #ended(): boolean {
    return this.#state === 'ended';
  }

  #finish(end: RunEnd): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    this.emit('ended', end);
    this.#resolveEnded(end);
  }
}

/** A copy of a header tag with its timestamp moved to `dts`, so a restarted run's timeline starts there. */
function restamp(packet: MediaPacket, dts: number): MediaPacket {
  const tag = Buffer.from(packet.tag);
  writeTagTimestamp(tag, dts);
  return { ...packet, dts, tag };
}
