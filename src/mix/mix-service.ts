import type { FfmpegCapabilities } from '../ffmpeg/capabilities.js';
import type { AdmitDecision, PublishRequest } from '../ingest/index.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { isRefusal, layoutMix, type CreateCommonMixStreamRequest, type MixLayout } from './layout.js';
import type { MixSessionStore } from './mix-book.js';
import { Mixer } from './mixer.js';
import type { StreamHub } from './stream-hub.js';

/** Why a mix request was refused: Tencent's mix error code, or an operation the recorder does not offer. */
export class MixRequestError extends Error {
  constructor(
    readonly kind: 'mix' | 'unsupported',
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'MixRequestError';
  }
}

export interface MixServiceOptions {
  store: MixSessionStore;
  hub: StreamHub;
  ffmpegPath: string;
  capabilities: FfmpegCapabilities;
  x264Preset: string;
  /** The app of an input named without one. */
  defaultApp: string;
  /** The push domain the output counts as published on (callback.domain); else its layer-1 input's host. */
  domain: string | undefined;
  admit: (request: PublishRequest) => AdmitDecision;
  logger: Logger;
  now?: () => number;
  stallMs?: number;
}

export interface MixServiceEvents {
  /** A mix's ffmpeg died or its output was refused; it is started again. */
  restart: [sessionId: string, reason: string];
}

/**
 * The open mix sessions: CreateCommonMixStream starts one or changes it, CancelCommonMixStream ends it. Each is
 * kept in the store until cancelled, so a restarted recorder runs it again.
 */
/** One open mix session as `GET /api/mixes` lists it. */
export interface MixSessionInfo {
  sessionId: string;
  output: string;
  inputs: string[];
  auto: boolean;
  publishing: boolean;
  /** How far the output trails the wall clock (see Mixer.lagMs); a mix that cannot keep up grows it. */
  lagMs?: number;
  /** The published ffmpeg's pid, for an operator's `top`. */
  pid?: number;
}

export class MixService extends TypedEmitter<MixServiceEvents> {
  readonly #o: MixServiceOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #mixers = new Map<string, Mixer>();
  /** Sessions the room mix runs (not kept in the store). */
  readonly #auto = new Set<string>();
  /** Requests of one session run one after another. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(options: MixServiceOptions) {
    super();
    this.#o = options;
    this.#log = options.logger.child({ component: 'mix' });
    this.#now = options.now ?? Date.now;
  }

  /** Runs the kept sessions again (after a restart); a session that no longer lays out is logged and kept. */
  async open(): Promise<void> {
    await this.#o.store.open();
    for (const record of this.#o.store.list()) {
      const layout = this.#layout(record.request);
      if (isRefusal(layout)) {
        this.#log.error(
          { mixSessionId: record.sessionId, reason: layout.message },
          'kept mix session not resumed',
        );
        continue;
      }
      this.#log.info({ mixSessionId: record.sessionId }, 'mix session resumed');
      await this.#startMixer(layout);
    }
  }

  get sessions(): readonly string[] {
    return [...this.#mixers.keys()];
  }

  mixerOf(sessionId: string): Mixer | undefined {
    return this.#mixers.get(sessionId);
  }

  /**
   * Starts a mix, or changes the running one of that session id; throws MixRequestError when refused.
   * `auto`: a room mix the recorder runs by itself (not kept: its pushes start it again; inputs fit their cells).
   */
  create(request: CreateCommonMixStreamRequest, options: { auto?: boolean } = {}): Promise<void> {
    return this.#serial(request.MixStreamSessionId, async () => {
      const image = (request.InputStreamList ?? []).find((i) => i.LayoutParams?.InputType === 2);
      if (image) {
        throw new MixRequestError(
          'unsupported',
          0,
          `InputType 2 (an image watermark, ${image.InputStreamName}) is not supported: images cannot be registered`,
        );
      }
      const layout = this.#layout(request, options.auto);
      if (isRefusal(layout)) throw new MixRequestError('mix', layout.code, layout.message);
      const running = this.#mixers.get(layout.sessionId);
      if (running && running.layout.output.name !== layout.output.name) {
        throw new MixRequestError(
          'mix',
          -508,
          `session ${layout.sessionId} outputs ${running.layout.output.name}, not ${layout.output.name}`,
        );
      }
      const key = this.#outputKey(layout);
      for (const [id, other] of this.#mixers) {
        if (id !== layout.sessionId && this.#outputKey(other.layout) === key) {
          throw new MixRequestError(
            'mix',
            -300,
            `output ${layout.output.name} is already the output of mix ${id}`,
          );
        }
      }
      if (options.auto) this.#auto.add(layout.sessionId);
      else await this.#o.store.put(layout.sessionId, request, this.#now());
      if (running) {
        this.#log.info({ mixSessionId: layout.sessionId }, 'mix layout changed');
        await running.update(layout);
      } else {
        await this.#startMixer(layout);
      }
    });
  }

  /** Ends a mix and its output; throws MixRequestError (-31001) for an unknown session. */
  cancel(sessionId: string): Promise<void> {
    return this.#serial(sessionId, async () => {
      const mixer = this.#mixers.get(sessionId);
      if (!mixer) throw new MixRequestError('mix', -31001, `no mix session ${JSON.stringify(sessionId)}`);
      this.#mixers.delete(sessionId);
      if (!this.#auto.delete(sessionId)) await this.#o.store.remove(sessionId);
      await mixer.stop();
      this.#log.info({ mixSessionId: sessionId }, 'mix cancelled');
    });
  }

  /** Stops every mixer; the sessions stay kept, to run again at the next start. */
  async close(): Promise<void> {
    const mixers = [...this.#mixers.values()];
    this.#mixers.clear();
    await Promise.all(mixers.map((m) => m.stop()));
    await this.#o.store.close();
  }

  #layout(
    request: CreateCommonMixStreamRequest,
    auto = false,
  ): MixLayout | { code: number; message: string } {
    const sizeOf = (name: string) => {
      const { app, stream } = this.#resolve(name);
      return this.#o.hub.sizeOf(app, stream);
    };
    return layoutMix(request, sizeOf, auto ? { fit: 'contain' } : {});
  }

  /** The open sessions, for GET /api/mixes. */
  list(): MixSessionInfo[] {
    return [...this.#mixers].map(([sessionId, mixer]) => ({
      sessionId,
      output: mixer.layout.output.name,
      inputs: mixer.layout.inputs.map((i) => i.name),
      auto: this.#auto.has(sessionId),
      publishing: mixer.publishing,
      ...(mixer.lagMs === undefined ? {} : { lagMs: mixer.lagMs }),
      ...(mixer.pid === undefined ? {} : { pid: mixer.pid }),
    }));
  }

  #resolve = (name: string): { app: string; stream: string } => {
    const [app, stream] = name.includes('/') ? name.split('/', 2) : [this.#o.defaultApp, name];
    return { app: app!, stream: stream! };
  };

  /** The output is published in the app of the layer-1 input (for OutputStreamType 0: the replaced input's). */
  #outputKey(layout: MixLayout): string {
    const { output } = layout;
    const replaced = layout.inputs.find((i) => this.#resolve(i.name).stream === output.name);
    const first = layout.inputs[0];
    const app = replaced
      ? this.#resolve(replaced.name).app
      : first
        ? this.#resolve(first.name).app
        : this.#o.defaultApp;
    return `${app}/${output.name}`;
  }

  async #startMixer(layout: MixLayout): Promise<void> {
    const mixer: Mixer = new Mixer(layout, {
      ffmpegPath: this.#o.ffmpegPath,
      capabilities: this.#o.capabilities,
      x264Preset: this.#o.x264Preset,
      hub: this.#o.hub,
      admit: this.#o.admit,
      resolve: this.#resolve,
      outputRequest: (): PublishRequest => this.#outputRequest(mixer.layout),
      logger: this.#o.logger,
      now: this.#now,
      ...(this.#o.stallMs !== undefined ? { stallMs: this.#o.stallMs } : {}),
    });
    mixer.on('restart', (reason) => this.emit('restart', layout.sessionId, reason));
    this.#mixers.set(layout.sessionId, mixer);
    await mixer.start();
  }

  #outputRequest(layout: MixLayout): PublishRequest {
    const [app, stream] = this.#outputKey(layout).split('/') as [string, string];
    const first = layout.inputs[0] ? this.#resolve(layout.inputs[0].name) : undefined;
    const host =
      this.#o.domain ?? (first && this.#o.hub.requestOf(first.app, first.stream)?.host) ?? 'localhost';
    return {
      connectionId: `mix-${layout.sessionId}`,
      app,
      stream,
      query: '',
      host,
      remoteAddress: '127.0.0.1',
      mix: { sessionId: layout.sessionId, replaces: layout.output.type === 0 },
    };
  }

  #serial<T>(sessionId: string, work: () => Promise<T>): Promise<T> {
    const before = this.#queues.get(sessionId) ?? Promise.resolve();
    const next = before.catch(() => undefined).then(work);
    this.#queues.set(sessionId, next);
    void next
      .catch((err: unknown) =>
        this.#log.debug({ mixSessionId: sessionId, err: errorMessage(err) }, 'mix request'),
      )
      .finally(() => {
        if (this.#queues.get(sessionId) === next) this.#queues.delete(sessionId);
      });
    return next;
  }
}
