import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import PQueue from 'p-queue';
import type { RecordStatus } from '../callback/events.js';
import type { FfmpegCapabilities } from '../ffmpeg/capabilities.js';
import { RECORD_FORMATS, type RecordConfig, type RecordFormat } from '../config/schema.js';
import type { IngestEndReason, MediaPacket, PublishRequest, PublishSink } from '../ingest/index.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import type { FileFinisher, RecordingIdentity } from './file-finisher.js';
import { livePlaylistFileName, objectKey, segmentFileName } from '../naming/names.js';
import { renderLivePlaylist, type PlaylistSegment } from './hls-playlist.js';
import { segmentShape } from './outputs/hls.js';
import { stallReason } from './backpressure.js';
import { RecordingJournal, type RecordingJournalData } from './journal.js';
import { resumeTimeLeft } from './resume-window.js';
import { RecordingRun, type RunEnd, type RunFile } from './recording-run.js';
import { endedReason, transition, type SessionState } from './session-state.js';
import { fileSecondsFor, retentionDaysFor } from '../templates/index.js';
import type { SeedFacts, SessionSeed } from './session-seed.js';
import { sha256File } from './file-digest.js';
import { OffsetLog, RepairLog, addRepairs, avOffsetOf, noRepairs, type MediaFacts } from './file-health.js';

/** The most of one GOP kept for a restart (about 30 s at 4 Mbps). */
const MAX_REPLAY_BYTES = 16 * 1024 * 1024;

/** Timings the tests shrink. */
export interface SessionTimings {
  /** Segment lists: read this often until watched, and every watchedPollMs after. */
  pollMs: number;
  watchedPollMs: number;
  /** Writes to each ffmpeg leave in batches this long apart. */
  writeBatchMs: number;
  stopGraceMs: number;
  restartDelayMs: number;
  /** Restarts of a dying ffmpeg allowed per publish before the publish is closed. */
  maxRestarts: number;
  maxProbeBytes: number;
}

export interface SessionOptions {
  recordingId: string;
  request: PublishRequest;
  nameId: string;
  /** What this recording records, resolved once at its first publish (a resume keeps it). */
  record: RecordConfig;
  workDir: string;
  ffmpegPath: string;
  /** What that ffmpeg can read (probed at start); H.264 only when absent. */
  ffmpegCapabilities?: FfmpegCapabilities;
  finisher: FileFinisher;
  logger: Logger;
  now: () => number;
  timings: SessionTimings;
  /** Closes a publisher's connection. */
  kick: (connectionId: string, reason: string) => void;
  /** The on-demand task this recording serves, if any. */
  taskId?: string;
  /** An interrupted recording another node handed over: this one continues its playlist. */
  seed?: SessionSeed;
}

export interface SessionEvents {
  state: [from: SessionState, to: SessionState, reason: string];
  /** A Tencent recording status change (event 332), with why it happened and its place (1, 2, ...). */
  status: [RecordStatus, detail: string, seq: number];
  /** ffmpeg died while the publisher stayed, and a new run starts after the restart delay. */
  restart: [restarts: number, reason: string];
  /** An HLS segment is queued for storage (the playlist names it from now on), with its size. */
  segment: [PlaylistSegment, size: number];
  done: [SessionState];
}

/** One recording of one stream: its ffmpeg runs, its HLS playlist and its resume window. */
export class RecordingSession extends TypedEmitter<SessionEvents> {
  readonly id: string;
  readonly key: string;
  readonly taskId: string | undefined;
  readonly #o: SessionOptions;
  readonly #log: Logger;
  #state: SessionState = 'starting';
  readonly identity: RecordingIdentity;
  #publishGen = 0;
  #publish: PublishRequest | undefined;
  #run: RecordingRun | undefined;
  #runs: RecordingRun[] = [];
  #restarts = 0;
  #bytesIn = 0;
  /** ffmpeg died and a new run is due: its start is reported as record_resumed. */
  #restartPending = false;
  #interruptedAt = 0;
  #timer: NodeJS.Timeout | undefined;
  // HLS: segments are stored one at a time, in order, so the playlist never names a missing one.
  readonly #serial = new PQueue({ concurrency: 1 });
  #head: Promise<{ head: string; disambiguator: number }> | undefined;
  #segments: PlaylistSegment[] = [];
  #segmentsSize = 0;
  /** The longest segment so far, at least the configured length: the live playlist's target duration. */
  #longestSegment: number;
  #lastSegmentRun = -1;
  #nextSeq = 0;
  readonly #parts: Promise<unknown>[] = [];
  #failures = 0;
  /** Files handed to the store (each announced by its event 100 once stored): parts and the closed playlist. */
  #queuedFiles = 0;
  readonly #headers = new Map<string, MediaPacket>();
  /** Packets since the last video keyframe, with its arrival time: a restarted ffmpeg starts from them. */
  #gop: MediaPacket[] = [];
  #gopBytes = 0;
  #gopWallMs = 0;
  #finalizing: Promise<void> | undefined;
  readonly #journal: RecordingJournal;
  #journalRuns: RecordingJournalData['runs'] = [];
  #journalHead: RecordingJournalData['head'];
  /** Event 332s so far. */
  #statusSeq = 0;
  /** Continues a recording handed over by another node. */
  readonly #seeded: boolean;
  /** Handed over to another node: it ends here without its playlist, event 100 or record_ended. */
  #handedOver = false;
  /** The file-name head, once reserved and a segment named by it. */
  #headValue: { head: string; disambiguator: number } | undefined;
  /** Timestamp repairs the ingest made in the recording's media, at their wall times (file_health). */
  readonly #repairs = new RepairLog();
  /** The current publish's largest A/V offset as it grew; each run keeps its publish's. */
  #offsets = new OffsetLog();
  readonly #runOffsets = new WeakMap<RecordingRun, OffsetLog>();
  /** The largest A/V offset of every publish of the recording here. */
  #maxAvOffsetMs: number | undefined;
  /** What the node before knew of the media; null: a continued recording whose facts were not handed over. */
  readonly #seedFacts: SeedFacts | null | undefined;
  readonly done: Promise<SessionState>;
  #resolveDone!: (state: SessionState) => void;

  constructor(options: SessionOptions) {
    super();
    this.#o = options;
    this.#longestSegment = options.record.hlsSegmentSeconds;
    this.id = options.recordingId;
    this.taskId = options.taskId;
    this.key = `${options.request.app}/${options.request.stream}`;
    this.#log = options.logger.child({
      component: 'session',
      streamId: options.request.stream,
      recordingId: options.recordingId,
    });
    this.identity = {
      recordingId: options.recordingId,
      app: options.request.app,
      stream: options.request.stream,
      nameId: options.nameId,
      host: options.request.host,
      query: options.request.query,
      mediaStartMs: 0,
      tracks: undefined,
      retentionDays: perFormat((format) => retentionDaysFor(options.record, format)),
      ...(options.record.templateId !== undefined ? { templateId: options.record.templateId } : {}),
      ...(options.taskId !== undefined ? { taskId: options.taskId } : {}),
    };
    this.#journal = new RecordingJournal(options.workDir, this.#log);
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    const seed = options.seed;
    this.#seeded = seed !== undefined;
    this.#seedFacts = seed ? (seed.facts ?? null) : undefined;
    if (seed) {
      this.identity = structuredClone(seed.identity);
      this.#head = Promise.resolve(seed.head);
      this.#journalHead = seed.head;
      this.#headValue = seed.head;
      this.#segments = [...seed.segments];
      this.#longestSegment = seed.segments.reduce(
        (m, x) => Math.max(m, x.durationSeconds),
        this.#longestSegment,
      );
      this.#segmentsSize = seed.segmentsSize;
      this.#nextSeq = seed.nextSeq;
      // Not -1 and never a run index: this node's first segment starts with a discontinuity.
      this.#lastSegmentRun = -2;
      this.#statusSeq = seed.statusSeq;
    }
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The recording's config: the config's own template or the one a rule chose. */
  get record(): RecordConfig {
    return this.#o.record;
  }

  /** When the publisher left, for the resume decision. */
  /** ffmpeg restarts of the current publish. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Media bytes (FLV tags) taken from the publishers, every publish of the recording together. */
  get bytesIn(): number {
    return this.#bytesIn;
  }

  get interruptedAt(): number {
    return this.#interruptedAt;
  }

  get currentRun(): RecordingRun | undefined {
    return this.#run;
  }

  get #resumable(): boolean {
    return this.#o.record.formats.includes('hls') && this.#o.record.hlsResumeTimeoutSeconds > 0;
  }

  #move(to: SessionState, reason: string): void {
    const from = this.#state;
    this.#state = transition(from, to);
    this.#log.info({ from, to, reason }, 'recording state');
    this.emit('state', from, to, reason);
    if (this.#handedOver) return;
    // A handed-over recording's first media here is its resume, as on one node.
    const status =
      this.#seeded && from === 'starting' && to === 'recording' ? 'record_resumed' : statusOfMove(from, to);
    if (status) this.#status(status, reason);
  }

  /** Numbers a status change and journals its number, so a restart after a crash continues the sequence. */
  #status(status: RecordStatus, detail: string): void {
    this.#statusSeq++;
    // record_ended comes after the work dir is gone; nothing of it is journaled.
    if (status !== 'record_ended' && this.#journalRuns.length) void this.#saveJournal();
    this.emit('status', status, detail, this.#statusSeq);
  }

  /**
   * Takes the first publish of the recording. `headers` (metadata and sequence headers already sent) start
   * a recording in the middle of a publish, at its next keyframe: an on-demand task opening on a live stream.
   */
  start(request: PublishRequest, headers: readonly MediaPacket[] = []): PublishSink {
    return this.#attach(request, headers);
  }

  /** Takes a publish that continues the interrupted recording (same playlist, a discontinuity). */
  resume(request: PublishRequest): PublishSink {
    clearTimeout(this.#timer);
    this.#move('recording', 'publisher returned within the resume window');
    return this.#attach(request);
  }

  #attach(request: PublishRequest, headers: readonly MediaPacket[] = []): PublishSink {
    const gen = ++this.#publishGen;
    this.#publish = request;
    this.#restarts = 0;
    this.#headers.clear();
    this.#gop = [];
    this.#gopBytes = 0;
    // A new publish has a timestamp repairer of its own, and so its own A/V offset.
    this.#offsets = new OffsetLog();
    for (const packet of headers) this.#headers.set(packet.kind, packet);
    this.#startRun([...headers]);
    return {
      onPacket: (packet) => {
        if (gen !== this.#publishGen) return;
        if (packet.repair) this.#repairs.add(packet.repair.kind, this.#o.now());
        if (packet.avOffsetMs !== undefined) {
          this.#offsets.add(packet.avOffsetMs, this.#o.now());
          this.#maxAvOffsetMs = Math.max(this.#maxAvOffsetMs ?? 0, packet.avOffsetMs);
        }
        this.#bytesIn += packet.tag.length;
        if (packet.kind === 'script' || packet.isSequenceHeader) this.#headers.set(packet.kind, packet);
        else this.#keepGop(packet);
        this.#run?.write(packet);
      },
      onEnd: (reason) => {
        if (gen === this.#publishGen) this.#onPublishEnd(reason);
      },
    };
  }

  /** Keeps the current GOP, up to a bound; a longer one is dropped and a restart waits for a keyframe. */
  #keepGop(packet: MediaPacket): void {
    if (packet.kind === 'video' && packet.isKeyFrame) {
      this.#gop = [packet];
      this.#gopBytes = packet.tag.length;
      this.#gopWallMs = this.#o.now();
      return;
    }
    if (!this.#gop.length) return;
    this.#gop.push(packet);
    this.#gopBytes += packet.tag.length;
    if (this.#gopBytes > MAX_REPLAY_BYTES) {
      this.#gop = [];
      this.#gopBytes = 0;
    }
  }

  /** `replay`: packets a restarted run starts from (the GOP since the last keyframe) and when its first arrived. */
  #startRun(leadingTags: MediaPacket[], replay?: { packets: readonly MediaPacket[]; wallMs: number }): void {
    const previous = this.#run;
    const index = this.#runs.length;
    const run: RecordingRun = new RecordingRun({
      index,
      dir: join(this.#o.workDir, `run-${index}`),
      ffmpegPath: this.#o.ffmpegPath,
      engine: this.#o.record.engine,
      ...(this.#o.ffmpegCapabilities ? { ffmpegCapabilities: this.#o.ffmpegCapabilities } : {}),
      formats: this.#o.record.formats,
      hlsSegmentSeconds: this.#o.record.hlsSegmentSeconds,
      maxFileSeconds: perFormat((format) => fileSecondsFor(this.#o.record, format)),
      hlsStartNumber: () => this.#nextSeq,
      logger: this.#log,
      now: this.#o.now,
      pollMs: this.#o.timings.pollMs,
      watchedPollMs: this.#o.timings.watchedPollMs,
      writeBatchMs: this.#o.timings.writeBatchMs,
      stopGraceMs: this.#o.timings.stopGraceMs,
      maxProbeBytes: this.#o.timings.maxProbeBytes,
      maxBufferedBytes: this.#o.record.maxBufferedBytes,
      leadingTags,
      // HLS numbering continues from the previous run, so that run must have closed its last segment.
      after: previous?.ended,
      prepare: (): Promise<void> => this.#prepareRun(run),
      ...(replay ? { firstPacketWallMs: replay.wallMs } : {}),
    });
    this.#run = run;
    this.#runs.push(run);
    this.#runOffsets.set(run, this.#offsets);
    run.on('started', () => {
      if (this.#state === 'starting') this.#move('recording', 'media arrived');
      if (this.#restartPending) {
        this.#restartPending = false;
        this.#status('record_resumed', 'ffmpeg restarted');
      }
      if (this.#o.record.formats.includes('hls')) {
        if (!this.#head) {
          this.#head = this.#o.finisher
            .reserveHead(this.identity, run.firstMediaWallMs ?? this.#o.now())
            .then(async (head) => {
              this.#journalHead = head;
              await this.#saveJournal();
              return head;
            });
          // Awaited by every segment; a failure is counted there.
          this.#head.catch(() => {});
        }
      }
    });
    run.on('file', (file) => this.#onFile(run, file));
    run.on('ended', (end) => this.#onRunEnded(run, end));
    for (const packet of replay?.packets ?? []) run.write(packet);
  }

  /** Before a run's ffmpeg writes anything: the journal names the run, so a crash leaves nothing unknown. */
  async #prepareRun(run: RecordingRun): Promise<void> {
    const firstMediaWallMs = run.firstMediaWallMs ?? this.#o.now();
    if ((run.index === 0 && !this.#seeded) || !this.identity.tracks) {
      this.identity.tracks = run.tracks;
      this.identity.mediaStartMs = firstMediaWallMs;
    }
    this.#journalRuns = [...this.#journalRuns, { index: run.index, firstMediaWallMs }];
    await this.#saveJournal();
  }

  #saveJournal(): Promise<void> {
    return this.#journal.save({
      version: 1,
      identity: this.identity,
      formats: [...this.#o.record.formats],
      hlsSegmentSeconds: this.#o.record.hlsSegmentSeconds,
      runs: this.#journalRuns,
      statusSeq: this.#statusSeq,
      ...(this.#journalHead ? { head: this.#journalHead } : {}),
    });
  }

  #onFile(run: RecordingRun, file: RunFile): void {
    if (file.format === 'hls') {
      // Taken now, not once queued: a run started after this one ended numbers on from every segment it wrote.
      this.#nextSeq = Math.max(this.#nextSeq, file.number + 1);
      void this.#serial.add(async () => {
        try {
          const head = await this.#head!;
          const { size } = await stat(file.path);
          const shape = await segmentShape(file.path, size, run.tracks);
          // Taken while the segment is local, and journaled with it: a playlist recovered or continued keeps it.
          const sha256 = await sha256File(file.path);
          const segment: PlaylistSegment = {
            uri: segmentFileName(head.head, file.number, shape.extension),
            seq: file.number,
            durationSeconds: Math.max(0, (file.endMs - file.startMs) / 1000),
            programDateTime: new Date(file.startMs),
            discontinuity: this.#lastSegmentRun !== -1 && this.#lastSegmentRun !== run.index,
            ...(shape.fmp4 ? { fmp4: shape.fmp4 } : {}),
            sha256,
          };
          // Journaled before it is queued: a playlist rebuilt after a crash names every segment stored.
          await this.#journal.appendSegment({
            run: run.index,
            seq: segment.seq,
            uri: segment.uri,
            startMs: file.startMs,
            durationSeconds: segment.durationSeconds,
            discontinuity: segment.discontinuity,
            size,
            ...(shape.fmp4 ? { initLength: shape.fmp4.initLength } : {}),
            sha256,
          });
          // Appended in place (not copied): a day of segments must not cost a day's list on every segment.
          this.#segments.push(segment);
          const longest = Math.max(this.#longestSegment, segment.durationSeconds);
          const live = renderLivePlaylist(this.#segments, longest);
          try {
            await this.#o.finisher.queueSegment(
              this.identity,
              file.path,
              head.head,
              segment.uri,
              live,
              sha256,
            );
          } catch (err) {
            this.#segments.pop();
            throw err;
          }
          this.#longestSegment = longest;
          this.#lastSegmentRun = run.index;
          this.#segmentsSize += size;
          this.#headValue = head;
          this.emit('segment', segment, size);
        } catch (err) {
          this.#failures++;
          this.#log.error({ err: errorMessage(err), file: file.path }, 'queueing segment failed');
        }
      });
      return;
    }
    // The part's own repairs (their wall times within it) and its publish's largest A/V offset by its end.
    const facts: MediaFacts = {
      timestampRepairs: this.#repairs.within(file.startMs, file.endMs),
      maxAvOffsetMs: avOffsetOf(file.format, run.tracks, this.#runOffsets.get(run)?.at(file.endMs)),
    };
    const part = this.#o.finisher
      .finishPart(this.identity, file.format, file.path, file.startMs, file.endMs, file.closed, { facts })
      .then(() => this.#queuedFiles++)
      .catch((err: unknown) => {
        this.#failures++;
        this.#log.error({ err: errorMessage(err), file: file.path }, 'finishing file failed');
      });
    this.#parts.push(part);
  }

  #onRunEnded(run: RecordingRun, end: RunEnd): void {
    if (run !== this.#run) return;
    const publish = this.#publish;
    if (end.kind === 'start-failed') {
      this.#status(this.#state === 'starting' ? 'record_start_failed' : 'record_error', end.reason);
      if (publish) this.#o.kick(publish.connectionId, `recording cannot start: ${end.reason}`);
      if (this.#state === 'starting') {
        this.#publish = undefined;
        this.#move('finalizing', end.reason);
        void this.#finalize('failed');
      }
      return;
    }
    if (end.kind === 'stalled') {
      // No restart: a box too loaded to feed ffmpeg sheds this recording instead of looping on it. Its stored
      // files stand, so it ends `completed` (as when ffmpeg died too often); record_error reports the cut.
      const reason = stallReason(end.bufferedBytes, end.maxBufferedBytes);
      this.#status('record_error', reason);
      void this.finish(reason);
      return;
    }
    if (end.kind === 'died') this.#status('record_error', end.error.message);
    if (end.kind === 'died' && publish) {
      if (this.#restarts >= this.#o.timings.maxRestarts) {
        this.#o.kick(publish.connectionId, `ffmpeg died ${this.#restarts + 1} times`);
        return;
      }
      this.#restarts++;
      this.#restartPending = true;
      const gen = this.#publishGen;
      this.#log.warn({ restart: this.#restarts }, 'restarting ffmpeg');
      this.emit('restart', this.#restarts, end.error.message);
      setTimeout(() => {
        // From the last keyframe, not the next one: the new file starts within the restart delay of the death,
        // repeating at most one GOP the dead ffmpeg may already have written.
        if (gen !== this.#publishGen || !this.#publish) return;
        const replay = this.#gop.length ? { packets: [...this.#gop], wallMs: this.#gopWallMs } : undefined;
        this.#startRun([...this.#headers.values()], replay);
      }, this.#o.timings.restartDelayMs).unref();
    }
  }

  #onPublishEnd(reason: IngestEndReason): void {
    this.#publish = undefined;
    this.#run?.endInput();
    if (this.#state === 'finalizing' || this.#state === 'completed' || this.#state === 'failed') return;
    if (reason !== 'shutdown' && this.#resumable && this.#state === 'recording') {
      this.#interruptedAt = this.#o.now();
      this.#move('interrupted', `publisher ${reason}`);
      const window = {
        interruptedAt: this.#interruptedAt,
        resumeTimeoutSeconds: this.#o.record.hlsResumeTimeoutSeconds,
      };
      this.#timer = setTimeout(
        () => {
          if (this.#state === 'interrupted') void this.finish('resume window expired');
        },
        resumeTimeLeft(window, this.#o.now()),
      );
      return;
    }
    void this.finish(`publisher ${reason}`);
  }

  /** Storage key of the live HLS playlist, once the recording has its name; undefined without HLS. */
  get livePlaylistKey(): string | undefined {
    if (!this.#headValue || !this.#o.record.formats.includes('hls')) return undefined;
    return objectKey(this.identity.app, livePlaylistFileName(this.#headValue.head));
  }

  /** The HLS segments queued so far (a continued recording's include those of the node before). */
  get segments(): readonly PlaylistSegment[] {
    return this.#segments;
  }

  /** What another node needs, besides the segments, to continue or close this recording; undefined before its first segment. */
  seedHeader(): Omit<SessionSeed, 'segments' | 'segmentsSize' | 'nextSeq'> | undefined {
    if (!this.#headValue) return undefined;
    return {
      recordingId: this.id,
      nameId: this.identity.nameId,
      record: this.#o.record,
      ...(this.taskId !== undefined ? { taskId: this.taskId } : {}),
      identity: structuredClone(this.identity),
      head: this.#headValue,
      statusSeq: this.#statusSeq,
    };
  }

  /**
   * Hands the interrupted recording to another node, which continues its playlist: waits for this node's runs
   * and parts to end and its segments to be queued, then ends here without the playlist, its event 100 or
   * record_ended. Undefined (nothing changes) when the recording is not interrupted or has no HLS yet.
   */
  async handOver(): Promise<SessionSeed | undefined> {
    if (this.#state !== 'interrupted' || this.#finalizing || !this.#head) return undefined;
    clearTimeout(this.#timer);
    this.#handedOver = true;
    this.#move('finalizing', 'handed over to another node');
    let seed: SessionSeed | undefined;
    this.#finalizing = (async () => {
      await Promise.all(this.#runs.map((run) => run.ended));
      await this.#serial.onIdle();
      await Promise.all(this.#parts);
      this.#headValue = await this.#head!;
      const facts = this.#factsToHand();
      seed = {
        ...this.seedHeader()!,
        segments: [...this.#segments],
        segmentsSize: this.#segmentsSize,
        nextSeq: this.#nextSeq,
        ...(facts ? { facts } : {}),
      };
      const final = this.#failures > 0 ? 'failed' : 'completed';
      if (final === 'completed') await rm(this.#o.workDir, { recursive: true, force: true });
      this.#move(final, `handed over with ${this.#segments.length} segments`);
      this.#resolveDone(final);
      this.emit('done', final);
    })();
    await this.#finalizing;
    return seed;
  }

  /**
   * Ends the recording now: closes the playlist and finishes every file. Idempotent. The publisher is closed
   * too, unless `keepPublisher` (an on-demand task ended while the stream goes on unrecorded).
   */
  finish(reason: string, options: { keepPublisher?: boolean } = {}): Promise<void> {
    if (this.#finalizing) return this.#finalizing;
    clearTimeout(this.#timer);
    const publish = this.#publish;
    if (publish) {
      // Detached before the kick: the ingest ends the publish at once, which must not finish us a second time.
      this.#publish = undefined;
      this.#publishGen++;
      if (!options.keepPublisher) this.#o.kick(publish.connectionId, reason);
    }
    this.#run?.endInput();
    if (this.#state !== 'finalizing') this.#move('finalizing', reason);
    return this.#finalize('completed');
  }

  /** What the whole recording's media held (its playlist's file_health), with what the node before knew. */
  #playlistFacts(): MediaFacts {
    const known = this.#factsToHand();
    return {
      timestampRepairs: known?.timestampRepairs ?? null,
      maxAvOffsetMs: avOffsetOf('hls', this.identity.tracks, known?.maxAvOffsetMs),
    };
  }

  /** The facts of the recording so far, with the seed's; undefined when what came before is not known. */
  #factsToHand(): SeedFacts | undefined {
    const before = this.#seedFacts;
    if (before === null) return undefined;
    const maxAvOffsetMs = larger(before?.maxAvOffsetMs, this.#maxAvOffsetMs);
    return {
      timestampRepairs: addRepairs(before?.timestampRepairs ?? noRepairs(), this.#repairs.totals)!,
      ...(maxAvOffsetMs !== undefined ? { maxAvOffsetMs } : {}),
    };
  }

  async #finishPlaylist(): Promise<void> {
    if (!this.#segments.length || !this.#head) return;
    try {
      await this.#o.finisher.finishPlaylist(
        this.identity,
        await this.#head,
        this.#segments,
        this.#segmentsSize,
        this.#playlistFacts(),
      );
      this.#queuedFiles++;
    } catch (err) {
      this.#failures++;
      this.#log.error({ err: errorMessage(err) }, 'finishing playlist failed');
    }
  }

  #finalize(outcome: 'completed' | 'failed'): Promise<void> {
    this.#finalizing ??= (async () => {
      await Promise.all(this.#runs.map((run) => run.ended));
      await this.#serial.onIdle();
      // The playlist needs only its segments queued: it is finished while the other formats' parts remux.
      await Promise.all([...this.#parts, this.#finishPlaylist()]);
      const final = outcome === 'failed' || this.#failures > 0 ? 'failed' : 'completed';
      // Work files are removed only when everything in them was stored.
      if (final === 'completed') await rm(this.#o.workDir, { recursive: true, force: true });
      // Storage goes on in the upload queue; event 100 alone says a file is stored.
      this.#move(final, endedReason(this.#queuedFiles, this.#failures));
      this.#resolveDone(final);
      this.emit('done', final);
    })();
    return this.#finalizing;
  }
}

/** The larger of two measures, either maybe missing. */
function larger(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

function perFormat(value: (format: RecordFormat) => number): Record<RecordFormat, number> {
  return Object.fromEntries(RECORD_FORMATS.map((format) => [format, value(format)])) as Record<
    RecordFormat,
    number
  >;
}

/** The event 332 status a state move reports, if any; start failures and ffmpeg deaths are reported where they happen. */
function statusOfMove(from: SessionState, to: SessionState): RecordStatus | undefined {
  if (to === 'completed' || to === 'failed') return 'record_ended';
  if (from === 'starting' && to === 'recording') return 'record_start_succeeded';
  if (from === 'recording' && to === 'interrupted') return 'record_paused';
  if (from === 'interrupted' && to === 'recording') return 'record_resumed';
  return undefined;
}
