import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { checkPushAuth, type PushAuthFailure } from '../auth/tx-secret.js';
import type { RecordConfig } from '../config/schema.js';
import type { FfmpegCapabilities } from '../ffmpeg/capabilities.js';
import type { AdmitDecision, MediaPacket, PublishRequest, PublishSink } from '../ingest/index.js';
import { assertSafeComponent } from '../naming/names.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { RecordTask } from '../tasks/task-book.js';
import {
  recordConfigFromTemplate,
  resolveRecording,
  type RecordRule,
  type RecordTemplate,
} from '../templates/index.js';
import type { FileFinisher } from './file-finisher.js';
import type { SessionSeed } from './session-seed.js';
import { RecordingSession, type SessionTimings } from './recording-session.js';
import { continuesRecording } from './resume-window.js';

/** Why a publish was refused, or taken without a recording (`not_recorded`): a bounded metrics label. */
export type PublishRefusal =
  | 'auth_no_signature'
  | 'auth_expired'
  | 'auth_mismatch'
  | 'duplicate_publisher'
  | 'unsafe_name'
  | 'disk_full'
  | 'shutting_down'
  | 'not_recorded';

/** Every refusal reason, for metrics that show each one from the start. */
export const PUBLISH_REFUSALS: readonly PublishRefusal[] = [
  'auth_no_signature',
  'auth_expired',
  'auth_mismatch',
  'duplicate_publisher',
  'unsafe_name',
  'disk_full',
  'shutting_down',
  'not_recorded',
];

const AUTH_REFUSALS = {
  'no-signature': 'auth_no_signature',
  expired: 'auth_expired',
  mismatch: 'auth_mismatch',
} as const satisfies Record<PushAuthFailure, PublishRefusal>;

/** The Tencent templates and rules admission reads (a TemplateBook). */
export interface TemplateSource {
  readonly templates: readonly RecordTemplate[];
  readonly rules: readonly RecordRule[];
}

/** On-demand tasks admission reads (a TaskBook). */
export interface TaskSource {
  activeFor(domainName: string, appName: string, streamName: string, nowMs: number): readonly RecordTask[];
}

/** One accepted publish: it keeps the stream's headers, so a task opening later can start recording it. */
interface Tap {
  request: PublishRequest;
  nameId: string;
  headers: Map<string, MediaPacket>;
  /** The recording the packets go to, if any. */
  sink: PublishSink | undefined;
  session: RecordingSession | undefined;
}

export interface RecordingManagerOptions {
  /** The config's own template: used when no rule matches (and `auto` is true). */
  record: RecordConfig;
  /** Recording templates and rules; without them every publish uses `record` (or none, with auto false). */
  templates?: TemplateSource;
  /** A configured push domain (callback.domain); rules match it as well as the host the publisher used. */
  domain?: string | undefined;
  dataDir: string;
  ffmpegPath: string;
  /** What that ffmpeg can read (probed at start); H.264 only when absent. */
  ffmpegCapabilities?: FfmpegCapabilities;
  finisher: FileFinisher;
  logger: Logger;
  now?: () => number;
  /** Tencent push authentication (txSecret/txTime); off when absent or not enabled. */
  publishAuth?: { enabled: boolean; key: string; backupKey: string };
  timings?: Partial<SessionTimings>;
  kick: (connectionId: string, reason: string) => void;
  /** Called with each new recording, before it takes its first publish (e.g. to watch its status). */
  onSession?: (session: RecordingSession) => void;
  /** On-demand tasks (CreateRecordTask): a stream with an open task is recorded even without a rule. */
  tasks?: TaskSource;
  /** Refuses publishes while the data dir is short of space (a DiskGuard); its answer is synchronous. */
  disk?: { refusal(app: string, stream: string): string | undefined };
  /** Told of every refused publish, and of every publish taken but not recorded, with the reason. */
  onRefusal?: (reason: PublishRefusal) => void;
  /**
   * An interrupted recording of the publish's stream that another node handed over (cluster): the publish
   * continues it, with the config it started with, whatever the rules say now.
   */
  continuationOf?: (request: PublishRequest) => SessionSeed | undefined;
}

export const DEFAULT_TIMINGS: SessionTimings = {
  pollMs: 250,
  watchedPollMs: 2000,
  // A recording is not watched live from ffmpeg's input, so its writes can wait longer than a mix's: 5 syscalls
  // and ffmpeg wake-ups a second, and at most this much media in flight if the recorder dies.
  writeBatchMs: 200,
  stopGraceMs: 10_000,
  restartDelayMs: 200,
  maxRestarts: 3,
  maxProbeBytes: 16 * 1024 * 1024,
};

/** StreamType 1 names a mix's output; a task for a live push (0) takes either (pure). */
function streamTypeFits(task: RecordTask, request: PublishRequest): boolean {
  return task.streamType !== 1 || request.mix !== undefined;
}

/** The recordings of every stream: admits publishes, joins resumes, drains on shutdown. */
export class RecordingManager {
  readonly #o: RecordingManagerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #timings: SessionTimings;
  /** The newest recording of each `app/stream`. */
  readonly #byStream = new Map<string, RecordingSession>();
  /** Every accepted publish by `app/stream`, recorded or not: a second publisher is refused. */
  readonly #taps = new Map<string, Tap>();
  /** Every recording not yet done, including ones still finishing files. */
  readonly #active = new Set<RecordingSession>();
  /** Streams a mix's output replaces (OutputStreamType 0): their own pushes feed the mix, unrecorded. */
  readonly #replaced = new Set<string>();
  /** Recordings of mix outputs. */
  readonly #mixOutputs = new WeakSet<RecordingSession>();
  #closing: Promise<void> | undefined;

  constructor(options: RecordingManagerOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'recordings' });
    this.#now = options.now ?? Date.now;
    this.#timings = { ...DEFAULT_TIMINGS, ...options.timings };
  }

  /** Recordings not yet done. */
  get sessions(): readonly RecordingSession[] {
    return [...this.#active];
  }

  /** The current recording of a stream, if any. */
  sessionOf(app: string, stream: string): RecordingSession | undefined {
    return this.#byStream.get(`${app}/${stream}`);
  }
  /**
   * Finishes a recording handed over from another node that no publish continues here (the publish was
   * refused, or the handover came back untaken): its playlist is closed with the segments stored so far and
   * announced, as its resume window's end would have done.
   */
  closeHandedOver(seed: SessionSeed, reason: string): Promise<void> {
    const request: PublishRequest = {
      connectionId: `handover-${seed.recordingId}`,
      app: seed.identity.app,
      stream: seed.identity.stream,
      query: seed.identity.query,
      host: seed.identity.host,
      remoteAddress: '',
    };
    const tap: Tap = {
      request,
      nameId: seed.nameId,
      headers: new Map(),
      sink: undefined,
      session: undefined,
    };
    const live = this.#byStream.get(`${request.app}/${request.stream}`);
    const session = this.#newSession(tap, seed.record, seed.taskId, seed);
    // A recording of the stream that runs here stays the stream's.
    if (live) this.#byStream.set(session.key, live);
    this.#log.info(
      { stream: session.key, recordingId: session.id, reason },
      'closing a handed-over recording',
    );
    return session.finish(reason);
  }

  /**
   * Hands this node's interrupted recording of a stream to another node (which continues its playlist);
   * undefined when there is none to hand over.
   */
  handOver(app: string, stream: string): Promise<SessionSeed | undefined> {
    const session = this.#byStream.get(`${app}/${stream}`);
    if (!session || session.state !== 'interrupted') return Promise.resolve(undefined);
    return session.handOver();
  }

  /** Decides a publish: a bad signature or a second publisher is refused; a return in the window resumes. */
  admit(request: PublishRequest): AdmitDecision {
    const refuse = (reason: PublishRefusal, text: string): AdmitDecision => {
      this.#o.onRefusal?.(reason);
      return { refuse: text };
    };
    if (this.#closing) return refuse('shutting_down', 'the recorder is shutting down');
    const auth = this.#o.publishAuth;
    if (auth?.enabled) {
      const verdict = checkPushAuth({
        streamName: request.stream,
        query: request.query,
        keys: [auth.key, auth.backupKey],
        nowMs: this.#now(),
      });
      if (!verdict.ok) {
        // The query (and so the txSecret) stays out of the log line.
        this.#log.warn(
          { app: request.app, stream: request.stream, reason: verdict.reason, detail: verdict.detail },
          'publish refused',
        );
        return refuse(
          AUTH_REFUSALS[verdict.reason],
          `push authentication failed (${verdict.reason}): ${verdict.detail}`,
        );
      }
    }
    const diskFull = this.#o.disk?.refusal(request.app, request.stream);
    if (diskFull) return refuse('disk_full', diskFull);
    let nameId: string;
    try {
      assertSafeComponent('app', request.app);
      assertSafeComponent('stream id', request.stream);
      const custom = new URLSearchParams(request.query).get('userdefinerecordid');
      nameId = custom ? assertSafeComponent('userdefinerecordid', custom) : request.stream;
    } catch (err) {
      return refuse('unsafe_name', errorMessage(err));
    }
    const key = `${request.app}/${request.stream}`;
    // A replacing mix output has a tap of its own: the push it replaces goes on beside it.
    const tapKey = request.mix?.replaces ? `mix:${key}` : key;
    if (request.mix?.replaces) this.#replace(key);
    else if (this.#replaced.has(key) && !this.#taps.has(key)) {
      this.#log.info({ stream: key }, 'publish feeds the mix that replaces it; not recorded itself');
      return { accept: this.#tapSink(key, this.#tap(key, request, nameId)) };
    }
    const current = this.#byStream.get(key);
    if (
      this.#taps.has(tapKey) ||
      (current && (current.state === 'starting' || current.state === 'recording'))
    ) {
      return refuse('duplicate_publisher', `stream ${key} is already being published`);
    }
    if (current?.state === 'interrupted') {
      // A resume keeps the config the recording started with, whatever the rules say now.
      const window = {
        interruptedAt: current.interruptedAt,
        resumeTimeoutSeconds: current.record.hlsResumeTimeoutSeconds,
      };
      if (continuesRecording(window, this.#now())) {
        this.#log.info({ stream: key, recordingId: current.id }, 'publish resumes recording');
        const tap = this.#tap(tapKey, request, nameId);
        tap.session = current;
        tap.sink = current.resume(request);
        return { accept: this.#tapSink(tapKey, tap) };
      }
      void current.finish('resume window expired');
    }
    const seed = this.#o.continuationOf?.(request);
    if (seed) {
      const tap = this.#tap(tapKey, request, seed.nameId);
      const session = this.#newSession(tap, seed.record, seed.taskId, seed);
      this.#log.info(
        { stream: key, recordingId: session.id, from: seed.from, segments: seed.segments.length },
        'publish continues a recording handed over by another node',
      );
      tap.sink = session.start(request);
      return { accept: this.#tapSink(tapKey, tap) };
    }
    const decision = resolveRecording(
      this.#o.templates?.rules ?? [],
      this.#o.templates?.templates ?? [],
      this.#o.record,
      this.#o.record.auto,
      {
        domains: this.#o.domain ? [request.host, this.#o.domain] : [request.host],
        app: request.app,
        stream: request.stream,
      },
    );
    const task = decision.record ? undefined : this.#openTasks(request)[0];
    const tap = this.#tap(tapKey, request, nameId);
    if (!decision.record && !task) {
      this.#log.info(
        {
          app: request.app,
          stream: request.stream,
          reason: decision.reason,
          templateId: decision.rule?.TemplateId,
        },
        'publish not recorded',
      );
      this.#o.onRefusal?.('not_recorded');
      return { accept: this.#tapSink(tapKey, tap) };
    }
    const config = decision.record ? decision.config : this.#taskConfig(task!);
    const session = this.#newSession(tap, config, task?.taskId);
    if (decision.rule) {
      this.#log.info(
        {
          stream: key,
          recordingId: session.id,
          templateId: decision.rule.TemplateId,
          rule: [decision.rule.DomainName, decision.rule.AppName, decision.rule.StreamName],
        },
        'recording rule matched',
      );
    }
    tap.sink = session.start(request);
    return { accept: this.#tapSink(tapKey, tap) };
  }

  /** A mix output takes over a stream's name: the stream's own recording ends; its push goes on feeding the mix. */
  #replace(key: string): void {
    this.#replaced.add(key);
    const push = this.#taps.get(key);
    const current = this.#byStream.get(key);
    if (push?.session) {
      push.sink = undefined;
      push.session = undefined;
    }
    if (
      current &&
      !this.#mixOutputs.has(current) &&
      current.state !== 'completed' &&
      current.state !== 'failed'
    ) {
      this.#log.info(
        { stream: key, recordingId: current.id },
        'a mix output replaces the stream; its recording ends',
      );
      void current.finish('replaced by a mix output', { keepPublisher: true });
      this.#byStream.delete(key);
    }
  }

  #tap(key: string, request: PublishRequest, nameId: string): Tap {
    const tap: Tap = { request, nameId, headers: new Map(), sink: undefined, session: undefined };
    this.#taps.set(key, tap);
    return tap;
  }

  /** The ingest's sink of a publish: headers are kept, packets go to whichever recording is attached. */
  #tapSink(key: string, tap: Tap): PublishSink {
    return {
      onPacket: (packet) => {
        if (packet.kind === 'script' || packet.isSequenceHeader) tap.headers.set(packet.kind, packet);
        tap.sink?.onPacket(packet);
      },
      onEnd: (reason) => {
        if (this.#taps.get(key) === tap) this.#taps.delete(key);
        // A cancelled mix gives the name back; one that restarts keeps it.
        if (tap.request.mix?.replaces && reason === 'unpublished') {
          this.#replaced.delete(`${tap.request.app}/${tap.request.stream}`);
        }
        tap.sink?.onEnd(reason);
      },
    };
  }

  #newSession(
    tap: Tap,
    config: RecordConfig,
    taskId: string | undefined,
    seed?: SessionSeed,
  ): RecordingSession {
    const { request } = tap;
    const key = `${request.app}/${request.stream}`;
    const recordingId = seed?.recordingId ?? randomBytes(8).toString('hex');
    const session = new RecordingSession({
      recordingId,
      request,
      nameId: tap.nameId,
      record: config,
      workDir: join(this.#o.dataDir, '.work', recordingId),
      ffmpegPath: this.#o.ffmpegPath,
      ...(this.#o.ffmpegCapabilities ? { ffmpegCapabilities: this.#o.ffmpegCapabilities } : {}),
      finisher: this.#o.finisher,
      logger: this.#o.logger,
      now: this.#now,
      timings: this.#timings,
      kick: this.#o.kick,
      ...(taskId !== undefined ? { taskId } : {}),
      ...(seed ? { seed } : {}),
    });
    this.#o.onSession?.(session);
    if (request.mix) this.#mixOutputs.add(session);
    tap.session = session;
    this.#byStream.set(key, session);
    this.#active.add(session);
    void session.done.then(() => {
      this.#active.delete(session);
      if (this.#byStream.get(key) === session) this.#byStream.delete(key);
    });
    return session;
  }

  /** Push domains a publish answers to: the host it used, and the configured domain. */
  #domainsOf(request: PublishRequest): string[] {
    return this.#o.domain ? [request.host, this.#o.domain] : [request.host];
  }

  #openTasks(request: PublishRequest): RecordTask[] {
    const tasks = this.#o.tasks;
    if (!tasks) return [];
    const found = new Map<string, RecordTask>();
    for (const domain of this.#domainsOf(request)) {
      for (const task of tasks.activeFor(domain, request.app, request.stream, this.#now())) {
        if (!streamTypeFits(task, request)) continue;
        found.set(task.taskId, task);
      }
    }
    return [...found.values()].sort((a, b) => a.startTime - b.startTime);
  }

  /** A task's template; a missing or unknown TemplateId means the default template, as Tencent does. */
  #taskConfig(task: RecordTask): RecordConfig {
    const template = this.#o.templates?.templates.find((t) => t.TemplateId === task.templateId);
    const config = template ? recordConfigFromTemplate(template, this.#o.record) : this.#o.record;
    return config.formats.length ? config : this.#o.record;
  }

  #matches(task: RecordTask, request: PublishRequest): boolean {
    return (
      streamTypeFits(task, request) &&
      task.appName === request.app &&
      task.streamName === request.stream &&
      this.#domainsOf(request).some((d) => d.toLowerCase() === task.domainName.toLowerCase())
    );
  }

  /** A task's window opened: a live stream it names that nothing records starts recording at its next keyframe. */
  onTaskStart(task: RecordTask): void {
    if (this.#closing) return;
    for (const tap of this.#taps.values()) {
      if (tap.sink || !this.#matches(task, tap.request)) continue;
      const session = this.#newSession(tap, this.#taskConfig(task), task.taskId);
      this.#log.info(
        { stream: session.key, recordingId: session.id, taskId: task.taskId },
        'task recording started',
      );
      tap.sink = session.start(tap.request, [...tap.headers.values()]);
    }
  }

  /** A task's window closed: its recording ends (the publisher goes on) unless another open task wants it. */
  onTaskEnd(task: RecordTask, reason: string): void {
    for (const session of this.#active) {
      if (session.taskId !== task.taskId) continue;
      const tap = [...this.#taps.values()].find((t) => t.session === session);
      if (tap && this.#openTasks(tap.request).some((t) => t.taskId !== task.taskId)) continue;
      if (tap) {
        tap.sink = undefined;
        tap.session = undefined;
      }
      this.#log.info(
        { stream: session.key, recordingId: session.id, taskId: task.taskId, reason },
        'task ended',
      );
      void session.finish(`task ${reason}`, { keepPublisher: true });
    }
  }

  /** Ends every recording now (resume windows included) and waits until all files are stored. Idempotent. */
  shutdown(): Promise<void> {
    this.#closing ??= (async () => {
      const sessions = [...this.#active];
      this.#log.info({ recordings: sessions.length }, 'finishing recordings');
      await Promise.all(sessions.map((s) => s.finish('recorder shutting down')));
    })();
    return this.#closing;
  }
}
