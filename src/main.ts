import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { createHttpServer, type HttpServer } from './api/server.js';
import { registerCallbackRoutes } from './api/callback-routes.js';
import { registerClusterRoutes } from './api/cluster-routes.js';
import { apiTokens, registerApiGuard } from './api/api-guard.js';
import { RecorderMetrics, registerMetricsRoute } from './api/metrics.js';
import { CallbackOutbox, outboxOptionsFromConfig } from './callback/index.js';
import type { Config } from './config/schema.js';
import { probeCapabilities, type FfmpegCapabilities } from './ffmpeg/capabilities.js';
import { resolveFfmpegPath, resolveFfprobePath } from './ffmpeg/locate.js';
import { RtmpIngest, type AdmitDecision, type PublishRequest } from './ingest/index.js';
import { createMixing, type Mixing, type MixService } from './mix/index.js';
import { deleteMediaById, registerMediaActions } from './api/media-actions.js';
import { registerRecordingRoutes } from './api/recording-routes.js';
import { registerSetupRoutes } from './api/setup-routes.js';
import type { MediaCatalog } from './media/media-index.js';
import { FileFinisher, type FinishedFile } from './recording/file-finisher.js';
import {
  recoverAll,
  unfinishedRecordings,
  type RecoveredRecording,
  type RecoveryOptions,
} from './recording/recovery.js';
import { RecordingManager } from './recording/recording-manager.js';
import { streamView } from './recording/stream-view.js';
import { parseSeed, seedFromParts, seedJson, type SessionSeed } from './recording/session-seed.js';
import { DiskGuard } from './recording/disk-guard.js';
import { PushJournal } from './recording/push-journal.js';
import { StreamNotifier } from './recording/stream-notifier.js';
import {
  advertisedHost,
  claimedAdmission,
  NodeGate,
  openSharedState,
  sweepDeadWork,
  type LedgerRecording,
  WorkTracker,
  type SharedState,
} from './cluster/index.js';
import type { SessionTimings } from './recording/recording-session.js';
import { lockDir, type HeldLock } from './shared/dir-lock.js';
import { errorMessage } from './shared/errors.js';
import { createLogger, type Logger } from './shared/logger.js';
import { registerMediaRoutes } from './api/media-routes.js';
import { registerTencentApi, TencentActionRegistry } from './api/tencent-api.js';
import { registerMixActions, registerMixRoutes } from './api/mix-actions.js';
import { registerTaskActions } from './api/task-actions.js';
import { registerTemplateActions } from './api/template-actions.js';
import { TaskBook } from './tasks/task-book.js';
import { requireRetention, TemplateBook } from './templates/index.js';
import { PlaybackServer, registerPlaybackRoutes, signedRawRoutes, VideoUrls } from './playback/index.js';
import { consoleAssetsDir, consoleSessions, registerConsoleRoutes } from './console/index.js';
import { createStore } from './storage/index.js';
import { ThumbnailMaker } from './thumbnails/thumbnail-maker.js';
import type { ObjectStore } from './storage/object-store.js';
import { UploadQueue } from './storage/upload-queue.js';
import type { AnnounceSpec } from './recording/file-finisher.js';
import { createTimeline, type Timeline, type TimelineStore } from './timeline/index.js';
import { registerTimelineRoutes } from './api/timeline-routes.js';
import { registerAuditRoutes } from './api/audit-routes.js';
import {
  AuditedStore,
  AuditLog,
  auditDelivery,
  auditedAdmission,
  auditSession,
  anchorKey,
  issuedUrls,
  startAnchors,
} from './audit/index.js';

export interface RecorderOptions {
  logger?: Logger;
  /** Shorter timings for tests. */
  timings?: Partial<SessionTimings>;
  /** How long shutdown waits for in-flight callback attempts. */
  drainTimeoutMs?: number;
  onFileFinished?: (file: FinishedFile) => void;
  /** Shorter upload retries for tests. */
  uploadRetry?: { retryBaseMs?: number; retryMaxMs?: number };
  /** How often the free space of dataDir is measured (default 1 s). */
  diskPollMs?: number;
}

const SWEEP_INTERVAL_MS = 3_600_000;

/** The running recorder: RTMP ingest, recordings, storage, callbacks and the HTTP server. */
export class Recorder {
  readonly config: Config;
  readonly logger: Logger;
  readonly ingest: RtmpIngest;
  readonly manager: RecordingManager;
  readonly outbox: CallbackOutbox;
  readonly store: ObjectStore;
  readonly uploads: UploadQueue;
  readonly http: HttpServer;
  /** Prometheus metrics, served on `GET /metrics`. */
  readonly metrics: RecorderMetrics;
  /** Tencent API v3 actions served on `POST /`; modules register theirs before or after start. */
  readonly tencentActions = new TencentActionRegistry();
  /** Every stored media, by the FileId of its event 100 (dataDir/.index/media.sqlite, or Redis): SearchMedia and co. */
  readonly mediaIndex: MediaCatalog;
  /** Covers and scrub thumbnails of stored media, made after their event 100. */
  readonly thumbnails: ThumbnailMaker;
  /** Markers and a live room's IM events, stored with each recording as sidecars. */
  readonly timeline: Timeline;
  readonly #timelineStore: TimelineStore;
  /** Tencent recording templates and rules (dataDir/.state/templates.json). */
  readonly templates: TemplateBook;
  /** On-demand recording tasks (dataDir/.state/tasks.json). */
  readonly tasks: TaskBook;
  /** Free space of dataDir: below record.minFreeBytes publishes are refused and recordings cut. */
  readonly disk: DiskGuard;
  /** Mixes of live streams (CreateCommonMixStream), kept in dataDir/.state/mixes.json. */
  readonly mixes: MixService;
  /** This node's live pushes against cluster.maxSlots, and whether it drains. */
  readonly gate: NodeGate;
  /** Resolves once the recorder has stopped, by stop() or at the end of a drain. */
  readonly stopped: Promise<void>;
  #markStopped!: () => void;
  readonly #drainTimeoutMs: number;
  rtmpPort = 0;
  httpPort = 0;
  #stopping: Promise<void> | undefined;
  #storageError: string | undefined = 'not initialized';
  #sweeper: NodeJS.Timeout | undefined;
  /** Looks for dead nodes' pushes and recordings (cluster mode). */
  #deadWork: NodeJS.Timeout | undefined;
  readonly #recovery: RecoveryOptions;
  /** Recordings a previous process left unfinished (a crash), finished in the background after start. */
  recovered: Promise<RecoveredRecording[]> = Promise.resolve([]);
  #diskWasFull = false;
  #stopAnchors: () => void = () => {};
  /** The exclusive lock on dataDir: one recorder per data dir. */
  readonly #lock: HeldLock;
  readonly #notifier: StreamNotifier;
  readonly #mixing: Mixing;

  private constructor(
    config: Config,
    options: RecorderOptions,
    lock: HeldLock,
    readonly ffmpegCapabilities: FfmpegCapabilities,
    readonly shared: SharedState,
    /** This node's tamper-evident audit trail. */
    readonly audit: AuditLog,
  ) {
    this.config = config;
    this.#lock = lock;
    this.logger = options.logger ?? createLogger();
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.gate = new NodeGate(config.cluster.maxSlots);
    this.stopped = new Promise((resolve) => (this.#markStopped = resolve));
    this.metrics = new RecorderMetrics({
      activeRecordings: () => this.manager.sessions.length,
      uploadQueueDepth: () => this.uploads.pending().length,
      callbacksPending: () => this.outbox.pending().length,
      callbacksDead: () => this.outbox.dead().length,
      diskFreeBytes: () => this.disk.freeBytes,
      diskFull: () => this.disk.state === 'full',
    });
    const dataDir = resolve(config.dataDir);
    this.disk = new DiskGuard({
      dir: dataDir,
      minFreeBytes: config.record.minFreeBytes,
      logger: this.logger,
      ...(options.diskPollMs !== undefined ? { pollMs: options.diskPollMs } : {}),
    });
    // Recordings are cut while the reserve still has room for their files to close, remux and be stored.
    this.disk.on('disk', (state, _free, reason) => {
      // Files a write failure left in work dirs (ENOSPC) are finished once there is room again.
      if (state === 'ok' && this.#diskWasFull) this.#recoverLeftovers();
      this.#diskWasFull = state === 'full';
      if (state !== 'full') return;
      for (const session of this.manager.sessions) {
        if (session.state === 'finalizing') continue;
        const fields = { stream: session.key, recordingId: session.id, reason };
        this.logger.warn(fields, 'recording cut: disk full');
        void session.finish(reason);
      }
    });
    const ffmpegPath = resolveFfmpegPath(config.ffmpegPath);
    this.logger.info({ ffmpegPath, ...ffmpegCapabilities }, 'ffmpeg capabilities');
    const outboxOptions = outboxOptionsFromConfig(config.callback, join(dataDir, '.outbox'), this.logger);
    // In a cluster the outbox is the node's journal: it hands each callback to the cluster's queue, retrying
    // every second while Redis is away, and the queue delivers it.
    this.outbox = new CallbackOutbox(
      shared.callbacks
        ? {
            ...outboxOptions,
            send: shared.callbacks.handOff,
            intervalMs: 1000,
            maxAttempts: Number.MAX_SAFE_INTEGER,
          }
        : outboxOptions,
    );
    const recorderUrl = () => config.http.publicBaseUrl ?? `http://127.0.0.1:${this.httpPort}`;
    this.store = new AuditedStore(
      createStore(config.storage, { dataDir, publicBaseUrl: recorderUrl }),
      (f) => {
        void audit.record(f);
      },
    );
    const videoUrls = new VideoUrls({
      store: this.store,
      storage: config.storage,
      playback: config.playback,
      recorderUrl,
      onIssued: issuedUrls(audit),
    });
    const playback = new PlaybackServer({ store: this.store, key: config.playback.key });
    // The recorder's own ffmpeg reads stored media back through the playback route, on loopback.
    const loopbackUrl = () => `http://${loopbackHost(config.http.host)}:${this.httpPort}`;
    this.thumbnails = new ThumbnailMaker({
      ffmpegPath,
      store: this.store,
      catalog: {
        get: (ids) => this.mediaIndex.get(ids),
        setThumbnails: (id, t) => this.mediaIndex.setThumbnails(id, t),
      },
      sourceUrl: (key) => videoUrls.playUrl(key, loopbackUrl()),
      intervalSeconds: config.record.thumbnails.intervalSeconds,
      concurrency: config.record.thumbnails.concurrency,
      workDir: join(dataDir, '.thumbnails'),
      logger: this.logger,
    });
    const thumbnails = this.thumbnails;
    this.uploads = new UploadQueue({
      dir: join(dataDir, '.uploads'),
      store: this.store,
      // Local jobs wait on fsyncs, not on a network: at 4, 160 slots' segments (40 a second) queued up.
      concurrency: config.storage.type === 'minio' ? config.storage.concurrency : 16,
      logger: this.logger.child({ component: 'uploads' }),
      ...options.uploadRetry,
      // Event 100 goes out only once every object of the file is stored.
      onDone: async (job) => {
        if (!job.announce) return;
        const file = await finisher.announce(job.announce as AnnounceSpec);
        thumbnails.enqueue(file);
        void audit.record({
          action: 'file.stored',
          subject: file.key,
          detail: {
            fileId: file.fileId,
            format: file.format,
            size: file.size,
            duration: file.durationSeconds,
          },
        });
      },
    });
    const work = new WorkTracker(shared.work, { handover: shared.handover, ledger: shared.ledger });
    // Seeds of recordings handed over for a publish being admitted, by its connection: read once, by the manager.
    const continuations = new Map<string, SessionSeed>();
    const takeContinuation = (connectionId: string) => {
      const seed = continuations.get(connectionId);
      continuations.delete(connectionId);
      return seed;
    };
    work.uploads(this.uploads);
    this.uploads.on('failed', (_job, err) => {
      this.#storageError = errorMessage(err);
      this.metrics.uploadFailed(errorCode(err));
    });
    const delivery = shared.callbacks ?? this.outbox;
    delivery.on('delivered', (_record, ms) => this.metrics.callbackAttempted('delivered', ms));
    delivery.on('failed', (_record, _reason, ms) => this.metrics.callbackAttempted('failed', ms));
    auditDelivery(audit, delivery);
    this.uploads.on('stored', () => {
      this.#storageError = undefined;
    });
    this.mediaIndex = shared.openMediaIndex();
    this.#timelineStore = shared.openTimeline();
    this.timeline = createTimeline({
      config,
      store: this.#timelineStore,
      work: shared.work,
      sessionOf: (app, stream) => this.manager.sessionOf(app, stream),
      uploads: this.uploads,
      catalog: this.mediaIndex,
      onOutcome: (outcome, n) => this.metrics.imEvents(outcome, n),
      logger: this.logger,
    });
    const finisher = new FileFinisher({
      sidecars: this.timeline,
      ffmpegPath,
      ffprobePath: resolveFfprobePath(ffmpegPath),
      mediaIndex: this.mediaIndex,
      store: this.store,
      urls: videoUrls,
      uploads: this.uploads,
      retentionDays: config.record.storageDays,
      naming: { template: config.record.fileNameTemplate, timeZone: config.record.timeZone },
      hlsSegmentSeconds: config.record.hlsSegmentSeconds,
      callback: config.callback,
      // Event 100 goes out when a RecordNotifyUrl (or url) is set; the finisher checks.
      callbacks: this.outbox,
      logger: this.logger,
      concurrency: Math.max(1, availableParallelism()),
      ...(options.onFileFinished ? { onFinished: options.onFileFinished } : {}),
    });
    const notifier = new StreamNotifier({
      callback: config.callback,
      callbacks: this.outbox,
      pushes: new PushJournal(join(dataDir, '.pushes'), this.logger),
      node: advertisedHost(shared.advertise),
      onPush: {
        started: (sequence, startedMs, facts) =>
          work.pushStarted(sequence, `${facts.appName}/${facts.streamId}`, startedMs, facts),
        ended: (sequence) => work.pushEnded(sequence),
      },
      endedElsewhere: (sequence) => shared.ledger.pushEndedElsewhere(sequence),
      logger: this.logger,
    });
    this.templates = new TemplateBook({
      store: shared.document('templates'),
      onReloadError: (err) =>
        this.logger.error({ err: errorMessage(err) }, 'reading changed templates failed'),
      // Locked objects need an expiry: a template may not keep files forever then.
      ...(config.storage.type === 'minio' && config.storage.objectLock ? { validate: requireRetention } : {}),
    });
    this.tasks = new TaskBook({
      store: shared.document('tasks'),
      log: this.logger,
    });
    this.manager = new RecordingManager({
      record: config.record,
      templates: this.templates,
      tasks: this.tasks,
      domain: config.callback.domain,
      dataDir,
      ffmpegPath,
      ffmpegCapabilities,
      finisher,
      logger: this.logger,
      publishAuth: config.auth.publish,
      disk: this.disk,
      onRefusal: (reason) => this.metrics.publishRefused(reason),
      continuationOf: (request) => takeContinuation(request.connectionId),
      ...(options.timings ? { timings: options.timings } : {}),
      kick: (connectionId, reason) => this.ingest.kick(connectionId, reason),
      onSession: (session) => {
        auditSession(audit, session);
        notifier.watch(session);
        work.session(session);
        session.on('restart', () => {
          this.metrics.ffmpegRestarted();
          // ffmpeg may have died of ENOSPC between polls: measure now, before the restart lands on a full disk.
          void this.disk.check();
        });
      },
    });
    this.#notifier = notifier;
    shared.handover.serve(
      async (key) => {
        const [app, stream] = key.split('/') as [string, string];
        const seed = await this.manager.handOver(app, stream);
        return seed ? seedJson({ ...seed, from: shared.nodeId }) : undefined;
      },
      (seed) => void this.manager.closeHandedOver(parseSeed(seed), 'no node continued it'),
    );
    this.#recovery = {
      ffmpegPath,
      finisher,
      isQueued: (path) => this.uploads.isQueuedSource(path),
      logger: this.logger,
    };
    // Events 1 and 0 for every accepted publish, an RTMP push or a mix's output; a refused one sends neither.
    const admit = (request: PublishRequest) => notifier.admit(request, this.manager.admit(request));
    this.#mixing = createMixing({
      config: config.mix,
      sessions: shared.document('mixes'),
      ffmpegPath,
      capabilities: ffmpegCapabilities,
      domain: config.callback.domain,
      admit,
      nodeId: shared.nodeId,
      mixClaims: shared.mixClaims,
      streamClaims: shared.claims,
      logger: this.logger,
      onRestart: () => this.metrics.mixRestarted(),
    });
    this.mixes = this.#mixing.service;
    this.ingest = new RtmpIngest({
      host: config.rtmp.host,
      port: config.rtmp.port,
      logger: this.logger,
      timestamps: config.record.timestamps,
      onTimestampRepair: (_request, repair) => this.metrics.timestampRepaired(repair.kind),
      // A push is claimed across the cluster first; then it reaches the mixes that take it as an input, after its
      // own recording.
      // The node's own gate first (maxSlots, draining): a push it cannot take costs no claim.
      admit: auditedAdmission(
        audit,
        this.gate.admitting(
          claimedAdmission({
            claims: shared.claims,
            resumesHere: (request) =>
              this.manager.sessionOf(request.app, request.stream)?.state === 'interrupted',
            // An interrupted recording of the stream on another node is handed over; this publish continues it.
            // Or the recording of a node that died: its stored segments continue here.
            prepare: async (request) => {
              const key = `${request.app}/${request.stream}`;
              const seed = await shared.handover.take(key);
              if (seed) return void continuations.set(request.connectionId, parseSeed(seed));
              const dead = await shared.ledger.takeDead(key);
              if (dead) continuations.set(request.connectionId, await this.#seedOf(dead));
            },
            logger: this.logger,
            admit: (request) => {
              const decision = countingBytes(admit(request), () =>
                this.metrics.bytesIn(request.app, request.stream),
              );
              // A handed-over recording this publish did not continue (it was refused) is closed, not lost.
              const unused = takeContinuation(request.connectionId);
              if (unused) void this.manager.closeHandedOver(unused, 'its publish here was refused');
              return 'accept' in decision
                ? { accept: this.#mixing.hub.tap(request, decision.accept) }
                : decision;
            },
          }),
        ),
      ),
    });
    this.http = createHttpServer({
      host: config.http.host,
      port: config.http.port,
      dataDir,
      logger: this.logger.child({ component: 'http' }),
      isReady: () => this.#stopping === undefined,
      unready: () => this.gate.unready(),
      storageStatus: () => this.#storageError,
      clusterStatus: () => shared.problem(),
      bodyLimitBytes: config.http.bodyLimitBytes,
      ...(config.http.cors ? { corsOrigins: config.http.cors.origins } : {}),
      ...(playback.signing ? { fileGuard: signedRawRoutes(playback) } : {}),
    });
    registerMediaActions(this.tencentActions, {
      index: this.mediaIndex,
      store: this.store,
      urls: videoUrls,
    });
    registerTemplateActions(this.tencentActions, {
      book: this.templates,
      timeZone: config.record.timeZone,
    });
    registerTaskActions(this.tencentActions, this.tasks);
    registerMixActions(this.tencentActions, this.mixes);
    const sessions = shared.sessions;
    // Through addRoutes, so /api/openapi.json sees each route.
    this.http.addRoutes((app) => {
      registerPlaybackRoutes(app, playback);
      registerApiGuard(app, apiTokens(config.api), this.logger, consoleSessions(sessions));
      if (config.console.enabled) {
        registerConsoleRoutes(app, {
          tokens: apiTokens(config.api),
          sessions,
          sessionHours: config.console.sessionHours,
          assetsDir: consoleAssetsDir(),
          logger: this.logger,
          onAudit: (facts) => void audit.record(facts),
        });
      }
      registerAuditRoutes(app, {
        audit,
        store: shared.audit,
        consoleUser: async (request) => (await consoleSessions(sessions)(request))?.name,
      });
      registerMediaRoutes(app, {
        store: this.store,
        index: this.mediaIndex,
      });
      registerMetricsRoute(app, this.metrics);
      registerCallbackRoutes(app, { outbox: shared.callbacks ?? this.outbox });
      registerClusterRoutes(app, {
        mode: shared.mode,
        nodeId: shared.nodeId,
        work: shared.work,
        drain: (timeoutMs) => void this.drain(timeoutMs),
        live: () => this.gate.live,
        streams: () =>
          this.manager.sessions
            .filter((s) => s.state !== 'completed' && s.state !== 'failed')
            .map((s) => streamView(s, shared.nodeId, Date.now())),
        playUrl: (key) => videoUrls.playUrl(key),
      });
      registerTencentApi(app, { credentials: config.api.credentials, actions: this.tencentActions });
      registerMixRoutes(app, this.mixes);
      registerTimelineRoutes(app, {
        timeline: this.timeline,
        callbackToken: config.im.callbackToken,
        sdkAppId: config.im.sdkAppId,
        onRefused: () => this.metrics.imEvents('refused'),
        onAnswered: (ms) => this.metrics.imAnswered(ms),
        logger: this.logger,
      });
      registerSetupRoutes(app, { templates: this.templates, tasks: this.tasks });
      registerRecordingRoutes(app, {
        catalog: this.mediaIndex,
        deleteMedia: (fileId) => deleteMediaById({ index: this.mediaIndex, store: this.store }, fileId),
        urlFor: (key) => videoUrls.urlFor(key),
      });
    });
    this.#stopAnchors = startAnchors(
      audit,
      config.audit.anchor.intervalSeconds * 1000,
      async (anchor) => {
        if (config.audit.anchor.sink === 'log') return void this.logger.info({ anchor }, 'audit anchor');
        // Under object lock when the store has it: a copy of the head no operator can rewrite in its retention.
        await this.store.putBuffer(Buffer.from(JSON.stringify(anchor)), anchorKey(anchor), {
          retentionDays: config.audit.anchor.retentionDays,
        });
      },
      (err) => this.logger.error({ err: errorMessage(err) }, 'cannot write the audit anchor'),
    );
    this.tasks.on('start', (task) => this.manager.onTaskStart(task));
    this.tasks.on('end', (task, reason) => this.manager.onTaskEnd(task, reason));
  }

  /** Prepares the store; on failure the recorder still runs, keeps files locally and retries. */
  async #initStore(): Promise<void> {
    try {
      await this.store.init();
      this.#storageError = undefined;
      this.logger.info({ storage: this.store.kind }, 'storage ready');
    } catch (err) {
      this.#storageError = errorMessage(err);
      const code = (err as { code?: string }).code;
      this.logger.error({ storage: this.store.kind, code, err: this.#storageError }, 'storage not ready');
    }
  }

  /** Finishes the work dirs no live recording owns: those of recordings that ended failed. */
  #recoverLeftovers(): void {
    this.recovered = this.recovered.then(async (before) => {
      const dirs = await unfinishedRecordings(resolve(this.config.dataDir));
      const live = new Set(this.manager.sessions.map((session) => session.id));
      const left = dirs.filter((dir) => !live.has(basename(dir)));
      return [...before, ...(await recoverAll(left, this.#recovery))];
    });
  }

  /** Deletes expired files where the store has no lifecycle of its own (the local disk). */
  async sweepExpired(now = new Date()): Promise<string[]> {
    const removed = await this.store.sweep(now);
    if (removed.length) this.logger.info({ removed: removed.length }, 'expired files deleted');
    return removed;
  }

  /** Starts every part; rejects (ListenError) if a port cannot be bound, leaving nothing running. */
  static async start(config: Config, options: RecorderOptions = {}): Promise<Recorder> {
    // Before anything opens a file in dataDir: a second recorder there would write the same outbox and books.
    const lock = await lockDir(resolve(config.dataDir), options.logger ? { logger: options.logger } : {});
    let recorder: Recorder;
    let shared: SharedState | undefined;
    try {
      // What the configured ffmpeg reads decides which video codecs are recorded (HEVC and AV1 need FFmpeg 6.1+).
      const ffmpegPath = resolveFfmpegPath(config.ffmpegPath);
      const capabilities = await probeCapabilities(ffmpegPath);
      const logger = options.logger ?? createLogger();
      shared = await openSharedState(config, resolve(config.dataDir), logger);
      const audit = await AuditLog.open(shared.audit, config.cluster.nodeId, logger, {
        enabled: config.audit.enabled,
      });
      recorder = new Recorder(config, { ...options, logger }, lock, capabilities, shared, audit);
    } catch (err) {
      await shared?.close();
      await lock.release();
      throw err;
    }
    try {
      // Rules decide what is recorded, so they are read before any publish is taken.
      await recorder.templates.load();
      await recorder.tasks.start();
      await recorder.#initStore();
      await recorder.uploads.start();
      recorder.#sweeper = setInterval(() => {
        recorder
          .sweepExpired()
          .catch((err: unknown) =>
            recorder.logger.error({ err: errorMessage(err) }, 'retention sweep failed'),
          );
      }, SWEEP_INTERVAL_MS);
      recorder.#sweeper.unref();
      await recorder.outbox.start();
      recorder.shared.callbacks?.start();
      // Listed before the ingest opens, so no push or recording of this process is taken for a crashed one.
      await recorder.#notifier.endCrashedPushes(lock.takenOver?.lastAliveMs);
      const unfinished = await unfinishedRecordings(resolve(config.dataDir));
      recorder.recovered = recoverAll(unfinished, {
        ...recorder.#recovery,
        // A crash cut these before their record_ended; leftovers of this process (ENOSPC) had theirs. One
        // another node closed (this node was seen dead) had its record_ended from there.
        onRecovered: (recording) => {
          const { app, stream } = recording.identity;
          recorder.shared.ledger.forget(`${app}/${stream}`, recording.recordingId);
          if (!recording.closedElsewhere) recorder.#notifier.recoveredRecordingEnded(recording);
        },
        closedElsewhere: async (recordingId) => {
          const segments = await recorder.shared.ledger.closedElsewhere(recordingId);
          return segments?.map((text) => (JSON.parse(text) as { uri: string }).uri);
        },
      });
      await recorder.disk.start();
      recorder.httpPort = (await recorder.http.listen()).port;
      recorder.rtmpPort = (await recorder.ingest.listen()).port;
      // Kept mixes run again; their inputs join as they publish.
      await recorder.mixes.open();
      recorder.#watchDeadWork();
    } catch (err) {
      await recorder.stop();
      throw err;
    }
    recorder.logger.info(
      { rtmpPort: recorder.rtmpPort, httpPort: recorder.httpPort, formats: config.record.formats },
      'recorder ready',
    );
    return recorder;
  }

  /** Stops taking publishes, finishes every recording (files stored, callbacks attempted), then closes. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.logger.info('recorder stopping');
      await this.ingest.close();
      // Their outputs end like any publish; the sessions stay kept for the next start.
      await this.#mixing.close();
      this.disk.close();
      await this.tasks.close();
      await this.manager.shutdown();
      await this.recovered;
      clearInterval(this.#sweeper);
      clearInterval(this.#deadWork);
      // What cannot be stored in time stays queued on disk and resumes at the next start.
      await this.uploads.drain(this.#drainTimeoutMs);
      await this.uploads.close();
      await this.outbox.drain(this.#drainTimeoutMs);
      await this.outbox.close();
      // Before the HTTP server and the index they read and write.
      await this.thumbnails.close();
      await this.http.close();
      this.timeline.close();
      await this.#timelineStore.close();
      await this.store.close();
      await this.mediaIndex.close();
      this.#stopAnchors();
      await this.audit.close();
      await this.shared.close();
      await this.#lock.release();
      this.logger.info('recorder stopped');
      this.#markStopped();
    })();
    return this.#stopping;
  }

  /** A seed of a dead node's recording from the ledger, naming only the segments stored. */
  async #seedOf(dead: LedgerRecording): Promise<SessionSeed> {
    const { seed, missing } = await seedFromParts(dead.header, dead.segments, async (app, uri) => {
      const info = await this.store.stat(`${app}/${uri}`);
      return info?.size;
    });
    if (missing) {
      this.logger.warn(
        { recordingId: seed.recordingId, missing },
        "segments of a dead node's recording not stored",
      );
    }
    return seed;
  }

  /** Event 0 for a dead node's pushes, its recordings closed after their window: every heartbeat, in a cluster. */
  #watchDeadWork(): void {
    if (!this.shared.sweepMs) return;
    let running = false;
    this.#deadWork = setInterval(() => {
      if (running || this.#stopping) return;
      running = true;
      void sweepDeadWork({
        work: this.shared.work,
        ledger: this.shared.ledger,
        closeRecording: async (dead) =>
          this.manager.closeHandedOver(
            await this.#seedOf(dead),
            'its node died and its resume window passed',
          ),
        endPush: (detail, endMs) =>
          this.#notifier.endLostPush(
            JSON.parse(detail) as Parameters<StreamNotifier['endLostPush']>[0],
            endMs,
          ),
        logger: this.logger,
      })
        .catch((err: unknown) =>
          this.logger.warn({ err: errorMessage(err) }, 'looking for dead nodes failed'),
        )
        .finally(() => (running = false));
    }, this.shared.sweepMs);
    this.#deadWork.unref();
  }

  /**
   * Drains the node: /readyz fails at once (the balancer sends new connections elsewhere) and new pushes are
   * refused; the node waits up to timeoutMs for its pushes to end (their encoders reconnect elsewhere) and its
   * interrupted recordings to be taken over or to end, then stops, finishing what is left.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (!this.gate.draining) {
      this.gate.drain();
      this.logger.info(
        { live: this.gate.live, timeoutMs },
        'draining: no new publish, waiting for pushes to end',
      );
    }
    const deadline = Date.now() + timeoutMs;
    await this.gate.whenIdle(timeoutMs);
    // An interrupted recording waits for its stream to come back (on another node, which takes it over) or for
    // its resume window to end, so a drain cuts no playlist short.
    while (
      Date.now() < deadline &&
      this.#stopping === undefined &&
      this.manager.sessions.some(
        (session) => session.state === 'interrupted' || session.state === 'finalizing',
      )
    ) {
      await new Promise((wake) => setTimeout(wake, 200));
    }
    await this.stop();
  }
}

/** Counts the media bytes of an accepted publish; `counter` runs only then, so a refusal makes no series. */
function countingBytes(decision: AdmitDecision, counter: () => (bytes: number) => void): AdmitDecision {
  if (!('accept' in decision)) return decision;
  const sink = decision.accept;
  const count = counter();
  return {
    accept: {
      onPacket: (packet) => {
        count(packet.tag.length);
        sink.onPacket(packet);
      },
      onEnd: (reason) => sink.onEnd(reason),
    },
  };
}

/** An error's own code (STORAGE_AUTH, ECONNREFUSED, NoSuchBucket), else UNKNOWN; a bounded label. */
function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Za-z0-9_]{1,40}$/.test(code) ? code : 'UNKNOWN';
}

/** The address the recorder reaches its own HTTP port at: loopback when it listens on every address. */
function loopbackHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
