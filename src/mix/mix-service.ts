import type { FfmpegCapabilities } from '../ffmpeg/capabilities.js';
import type { StreamClaims } from '../cluster/index.js';
import type { AdmitDecision, PublishRequest } from '../ingest/index.js';
import { errorMessage } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { isRefusal, layoutMix, type CreateCommonMixStreamRequest, type MixLayout } from './layout.js';
import type { MixSessionStore } from './mix-book.js';
import { Mixer } from './mixer.js';
import { mixPlacement } from './placement.js';
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
  /** Which node runs each session: one at a time across a cluster (on one node, always this one). */
  claims: StreamClaims;
  /** Which node an input (`app/stream`) publishes on, if any. */
  publisherOf: (key: string) => Promise<string | undefined>;
  /** This node's id, as `publisherOf` names nodes. */
  nodeId: string;
  /** How often a cluster node looks again at where each kept session should run. */
  placeEveryMs?: number;
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
  /** The kept request (its updatedAt) each mixer here runs. */
  readonly #applied = new Map<string, number>();
  #unwatch: (() => void) | undefined;
  #unwatchHub: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: MixServiceOptions) {
    super();
    this.#o = options;
    this.#log = options.logger.child({ component: 'mix' });
    this.#now = options.now ?? Date.now;
  }

  /**
   * Runs the kept sessions again (after a restart), each where it should run: on one node all of them; in a
   * cluster each on the node that claims it, then looked at again at each change of the book and every
   * `placeEveryMs`. A session that no longer lays out is logged and kept.
   */
  async open(): Promise<void> {
    await this.#o.store.open();
    this.#unwatch = this.#o.store.watch(() => void this.#placeAll());
    this.#o.claims.on('lost', this.#onLost);
    if (!this.#o.claims.local) {
      this.#timer = setInterval(() => void this.#placeAll(), this.#o.placeEveryMs ?? 2000);
      this.#timer.unref();
      // An input that starts or stops here may move its session here, or away.
      this.#unwatchHub = this.#o.hub.watch((request) => void this.#placeAll(request));
    }
    await this.#placeAll();
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
      const kept = this.#o.store.get(layout.sessionId);
      const output = running?.layout.output.name ?? kept?.request.OutputParams.OutputStreamName;
      if (output !== undefined && output !== layout.output.name) {
        throw new MixRequestError(
          'mix',
          -508,
          `session ${layout.sessionId} outputs ${output}, not ${layout.output.name}`,
        );
      }
      const key = this.#outputKey(layout);
      for (const [id, other] of this.#otherLayouts(layout.sessionId)) {
        if (this.#outputKey(other) === key) {
          throw new MixRequestError(
            'mix',
            -300,
            `output ${layout.output.name} is already the output of mix ${id}`,
          );
        }
      }
      if (options.auto) this.#auto.add(layout.sessionId);
      else {
        const record = await this.#o.store.put(layout.sessionId, request, this.#now());
        this.#applied.set(layout.sessionId, record.updatedAt);
      }
      if (running) {
        this.#log.info({ mixSessionId: layout.sessionId }, 'mix layout changed');
        await running.update(layout);
      } else if (options.auto) {
        const claimed = await this.#o.claims.claim(layout.sessionId);
        if (!claimed.ok) {
          this.#auto.delete(layout.sessionId);
          throw new MixRequestError(
            'mix',
            -300,
            `room mix ${layout.sessionId} runs on node ${claimed.holder.node}`,
          );
        }
        await this.#startMixer(layout);
      } else {
        await this.#place(layout.sessionId);
      }
    });
  }

  /**
   * Ends a mix and its output; throws MixRequestError (-31001) for an unknown session. A kept session that runs
   * on another node ends there, once that node reads the book without it.
   */
  cancel(sessionId: string): Promise<void> {
    return this.#serial(sessionId, async () => {
      const mixer = this.#mixers.get(sessionId);
      const auto = this.#auto.delete(sessionId);
      const kept = !auto && (await this.#o.store.remove(sessionId));
      if (!mixer && !kept) {
        throw new MixRequestError('mix', -31001, `no mix session ${JSON.stringify(sessionId)}`);
      }
      if (mixer) await this.#stopMixer(sessionId);
      this.#log.info({ mixSessionId: sessionId, ranHere: mixer !== undefined }, 'mix cancelled');
    });
  }

  /** Stops every mixer; the sessions stay kept, to run again at the next start (here or on another node). */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#unwatch?.();
    this.#unwatchHub?.();
    this.#o.claims.off('lost', this.#onLost);
    await Promise.all([...this.#mixers.keys()].map((id) => this.#stopMixer(id)));
    await this.#o.store.close();
  }

  /** Looks at every kept session and every mixer running here; or only those taking `input` as an input. */
  async #placeAll(input?: PublishRequest): Promise<void> {
    const takes = (request: CreateCommonMixStreamRequest) =>
      (request.InputStreamList ?? []).some((i) => {
        const { app, stream } = this.#resolve(i.InputStreamName);
        return app === input!.app && stream === input!.stream;
      });
    const ids = new Set([
      ...this.#o.store
        .list()
        .filter((r) => !input || takes(r.request))
        .map((r) => r.sessionId),
      ...(input ? [] : this.#mixers.keys()),
    ]);
    await Promise.all(
      [...ids]
        .filter((id) => !this.#auto.has(id))
        .map((id) =>
          this.#serial(id, () => this.#place(id)).catch((err: unknown) =>
            this.#log.warn({ mixSessionId: id, err: errorMessage(err) }, 'mix session not placed'),
          ),
        ),
    );
  }

  /**
   * Starts, changes, hands over or stops one kept session here, by the book and by where its inputs publish
   * (mixPlacement). Runs inside the session's #serial.
   */
  async #place(sessionId: string): Promise<void> {
    if (this.#closed) return;
    const record = this.#o.store.get(sessionId);
    const mixer = this.#mixers.get(sessionId);
    if (!record) {
      // Cancelled on another node.
      if (mixer) {
        await this.#stopMixer(sessionId);
        this.#log.info({ mixSessionId: sessionId }, 'mix cancelled on another node: stopped here');
      }
      return;
    }
    const layout = this.#layout(record.request);
    if (isRefusal(layout)) {
      if (this.#applied.get(sessionId) !== record.updatedAt) {
        this.#applied.set(sessionId, record.updatedAt);
        this.#log.error({ mixSessionId: sessionId, reason: layout.message }, 'kept mix session not run');
      }
      return;
    }
    if (mixer && this.#applied.get(sessionId) !== record.updatedAt) {
      this.#applied.set(sessionId, record.updatedAt);
      this.#log.info({ mixSessionId: sessionId }, 'mix layout changed on another node');
      await mixer.update(layout);
    }
    let localInputs = 0;
    let remoteInputs = 0;
    if (!this.#o.claims.local) {
      for (const input of layout.inputs) {
        const { app, stream } = this.#resolve(input.name);
        if (this.#o.hub.requestOf(app, stream)) localInputs++;
        else if (((await this.#o.publisherOf(`${app}/${stream}`)) ?? this.#o.nodeId) !== this.#o.nodeId) {
          remoteInputs++;
        }
      }
    }
    const holder = mixer || this.#o.claims.local ? undefined : await this.#o.claims.holderOf(sessionId);
    const decision = mixPlacement({
      localInputs,
      remoteInputs,
      runsHere: mixer !== undefined,
      heldElsewhere: holder !== undefined && holder.node !== this.#o.nodeId,
    });
    if (decision === 'hand-over') {
      this.#log.info(
        { mixSessionId: sessionId, remoteInputs },
        'mix inputs publish on another node: handed over',
      );
      await this.#stopMixer(sessionId);
      return;
    }
    if (decision === 'leave' || mixer) return;
    const claimed = await this.#o.claims.claim(sessionId);
    if (!claimed.ok) return;
    this.#applied.set(sessionId, record.updatedAt);
    this.#log.info({ mixSessionId: sessionId, localInputs }, 'mix session runs on this node');
    await this.#startMixer(layout);
  }

  async #stopMixer(sessionId: string): Promise<void> {
    const mixer = this.#mixers.get(sessionId);
    this.#mixers.delete(sessionId);
    this.#applied.delete(sessionId);
    await mixer?.stop();
    await this.#o.claims.release(sessionId);
  }

  /** Another node holds a session this node ran (its claim lapsed while Redis was away): only one may run it. */
  readonly #onLost = (sessionId: string): void => {
    if (!this.#mixers.has(sessionId)) return;
    this.#log.error({ mixSessionId: sessionId }, 'mix session claimed by another node: stopped here');
    void this.#serial(sessionId, () => this.#stopMixer(sessionId));
  };

  /** The layouts of every other session: running here, or kept (perhaps running on another node). */
  #otherLayouts(sessionId: string): Map<string, MixLayout> {
    const out = new Map<string, MixLayout>();
    for (const record of this.#o.store.list()) {
      if (record.sessionId === sessionId) continue;
      const layout = this.#layout(record.request);
      if (!isRefusal(layout)) out.set(record.sessionId, layout);
    }
    for (const [id, mixer] of this.#mixers) if (id !== sessionId) out.set(id, mixer.layout);
    return out;
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
