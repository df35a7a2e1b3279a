import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { createHttpServer, type HttpServer } from './api/server.js';
import { CallbackOutbox, outboxOptionsFromConfig } from './callback/index.js';
import type { Config } from './config/schema.js';
import { resolveFfmpegPath } from './ffmpeg/locate.js';
import { RtmpIngest } from './ingest/index.js';
import { FileFinisher, type FinishedFile } from './recording/file-finisher.js';
import { RecordingManager } from './recording/recording-manager.js';
import type { SessionTimings } from './recording/recording-session.js';
import { createLogger, type Logger } from './shared/logger.js';
import { LocalStore } from './storage/local-store.js';

export interface RecorderOptions {
  logger?: Logger;
  /** Shorter timings for tests. */
  timings?: Partial<SessionTimings>;
  /** How long shutdown waits for in-flight callback attempts. */
  drainTimeoutMs?: number;
  onFileFinished?: (file: FinishedFile) => void;
}

/** The running recorder: RTMP ingest, recordings, storage, callbacks and the HTTP server. */
export class Recorder {
  readonly config: Config;
  readonly logger: Logger;
  readonly ingest: RtmpIngest;
  readonly manager: RecordingManager;
  readonly outbox: CallbackOutbox;
  readonly http: HttpServer;
  readonly #drainTimeoutMs: number;
  rtmpPort = 0;
  httpPort = 0;
  #stopping: Promise<void> | undefined;

  private constructor(config: Config, options: RecorderOptions) {
    this.config = config;
    this.logger = options.logger ?? createLogger();
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    const dataDir = resolve(config.dataDir);
    const ffmpegPath = resolveFfmpegPath(config.ffmpegPath);
    this.outbox = new CallbackOutbox(
      outboxOptionsFromConfig(
        config.callback,
        join(dataDir, '.outbox'),
        this.logger.child({ component: 'callback' }),
      ),
    );
    const finisher = new FileFinisher({
      ffmpegPath,
      store: new LocalStore({
        dataDir,
        publicBaseUrl: () => config.http.publicBaseUrl ?? `http://127.0.0.1:${this.httpPort}`,
      }),
      naming: { template: config.record.fileNameTemplate, timeZone: config.record.timeZone },
      hlsSegmentSeconds: config.record.hlsSegmentSeconds,
      callback: config.callback,
      callbacks: config.callback.url ? this.outbox : undefined,
      logger: this.logger,
      concurrency: Math.max(1, availableParallelism()),
      ...(options.onFileFinished ? { onFinished: options.onFileFinished } : {}),
    });
    this.manager = new RecordingManager({
      record: config.record,
      dataDir,
      ffmpegPath,
      finisher,
      logger: this.logger,
      ...(options.timings ? { timings: options.timings } : {}),
      kick: (connectionId, reason) => this.ingest.kick(connectionId, reason),
    });
    this.ingest = new RtmpIngest({
      host: config.rtmp.host,
      port: config.rtmp.port,
      logger: this.logger,
      admit: (request) => this.manager.admit(request),
    });
    this.http = createHttpServer({
      host: config.http.host,
      port: config.http.port,
      dataDir,
      logger: this.logger.child({ component: 'http' }),
      isReady: () => this.#stopping === undefined,
    });
  }

  /** Starts every part; rejects (ListenError) if a port cannot be bound, leaving nothing running. */
  static async start(config: Config, options: RecorderOptions = {}): Promise<Recorder> {
    const recorder = new Recorder(config, options);
    try {
      await recorder.outbox.start();
      recorder.httpPort = (await recorder.http.listen()).port;
      recorder.rtmpPort = (await recorder.ingest.listen()).port;
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
      await this.manager.shutdown();
      await this.outbox.drain(this.#drainTimeoutMs);
      await this.outbox.close();
      await this.http.close();
      this.logger.info('recorder stopped');
    })();
    return this.#stopping;
  }
}
