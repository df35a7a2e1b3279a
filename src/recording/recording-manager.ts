import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { checkPushAuth } from '../auth/tx-secret.js';
import type { RecordConfig } from '../config/schema.js';
import type { AdmitDecision, PublishRequest } from '../ingest/index.js';
import { assertSafeComponent } from '../naming/names.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { FileFinisher } from './file-finisher.js';
import { RecordingSession, type SessionTimings } from './recording-session.js';
import { continuesRecording } from './resume-window.js';

export interface RecordingManagerOptions {
  record: RecordConfig;
  dataDir: string;
  ffmpegPath: string;
  finisher: FileFinisher;
  logger: Logger;
  now?: () => number;
  /** Tencent push authentication (txSecret/txTime); off when absent or not enabled. */
  publishAuth?: { enabled: boolean; key: string; backupKey: string };
  timings?: Partial<SessionTimings>;
  kick: (connectionId: string, reason: string) => void;
  /** Called with each new recording, before it takes its first publish (e.g. to watch its status). */
  onSession?: (session: RecordingSession) => void;
}

export const DEFAULT_TIMINGS: SessionTimings = {
  pollMs: 250,
  stopGraceMs: 10_000,
  restartDelayMs: 200,
  maxRestarts: 3,
  maxProbeBytes: 16 * 1024 * 1024,
};

/** The recordings of every stream: admits publishes, joins resumes, drains on shutdown. */
export class RecordingManager {
  readonly #o: RecordingManagerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #timings: SessionTimings;
  /** The newest recording of each `app/stream`. */
  readonly #byStream = new Map<string, RecordingSession>();
  /** Every recording not yet done, including ones still finishing files. */
  readonly #active = new Set<RecordingSession>();
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

  /** Decides a publish: a bad signature or a second publisher is refused; a return in the window resumes. */
  admit(request: PublishRequest): AdmitDecision {
    if (this.#closing) return { refuse: 'the recorder is shutting down' };
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
        return { refuse: `push authentication failed (${verdict.reason}): ${verdict.detail}` };
      }
    }
    let nameId: string;
    try {
      assertSafeComponent('app', request.app);
      assertSafeComponent('stream id', request.stream);
      const custom = new URLSearchParams(request.query).get('userdefinerecordid');
      nameId = custom ? assertSafeComponent('userdefinerecordid', custom) : request.stream;
    } catch (err) {
      return { refuse: errorMessage(err) };
    }
    const key = `${request.app}/${request.stream}`;
    const current = this.#byStream.get(key);
    if (current && (current.state === 'starting' || current.state === 'recording')) {
      return { refuse: `stream ${key} is already being published` };
    }
    if (current?.state === 'interrupted') {
      const window = {
        interruptedAt: current.interruptedAt,
        resumeTimeoutSeconds: this.#o.record.hlsResumeTimeoutSeconds,
      };
      if (continuesRecording(window, this.#now())) {
        this.#log.info({ stream: key, recordingId: current.id }, 'publish resumes recording');
        return { accept: current.resume(request) };
      }
      void current.finish('resume window expired');
    }
    const recordingId = randomBytes(8).toString('hex');
    const session = new RecordingSession({
      recordingId,
      request,
      nameId,
      record: this.#o.record,
      workDir: join(this.#o.dataDir, '.work', recordingId),
      ffmpegPath: this.#o.ffmpegPath,
      finisher: this.#o.finisher,
      logger: this.#o.logger,
      now: this.#now,
      timings: this.#timings,
      kick: this.#o.kick,
    });
    this.#o.onSession?.(session);
    this.#byStream.set(key, session);
    this.#active.add(session);
    void session.done.then(() => {
      this.#active.delete(session);
      if (this.#byStream.get(key) === session) this.#byStream.delete(key);
    });
    return { accept: session.start(request) };
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
