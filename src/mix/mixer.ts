import { FfmpegProcess, type FfmpegExit } from '../ffmpeg/process.js';
import type { FfmpegCapabilities } from '../ffmpeg/capabilities.js';
import { renderStillClip, type StillClipCodec, type StillClipSpec } from '../ffmpeg/still-clip.js';
import type { AdmitDecision, PublishRequest, PublishSink } from '../ingest/index.js';
import { beat } from '../shared/beat.js';
import { errorMessage } from '../shared/errors.js';
import { FlvTagReader, parseFlvTags, type FlvTag } from '../shared/flv.js';
import type { Logger } from '../shared/logger.js';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { backgroundInput, buildMixGraph, mixEncodeArgs, type MixGraph } from './filter-graph.js';
import { InputFeed, placeholderClip, type PlaceholderClip } from './input-feed.js';
import type { MixLayout } from './layout.js';
import { packetOfTag } from './output-packets.js';
import type { StreamHub } from './stream-hub.js';

export interface MixerOptions {
  ffmpegPath: string;
  /** What the ffmpeg reads: an HEVC or AV1 input is decoded when it can. */
  capabilities: FfmpegCapabilities;
  x264Preset: string;
  hub: StreamHub;
  /** Where the output is published: the same door as an RTMP publish (events 1 and 0, then the recording). */
  admit: (request: PublishRequest) => AdmitDecision;
  /** The output's publish request, asked anew at each (re)publish. */
  outputRequest: () => PublishRequest;
  /** `app/stream` of an input name (a bare name is a stream of the mix app). */
  resolve: (name: string) => { app: string; stream: string };
  logger: Logger;
  now?: () => number;
  /** A live input track silent this long shows the background until it comes back. */
  stallMs?: number;
  restartDelayMs?: number;
}

export interface MixerEvents {
  /** The mix's ffmpeg died and is started again. */
  restart: [reason: string];
  /** The output publish was refused (a duplicate, a full disk): the mix runs without a recording. */
  refused: [reason: string];
}

const PLACEHOLDER_SECONDS = 2;
/** The longest a new ffmpeg waits for its live inputs' keyframes before it takes over the output anyway. */
const TAKEOVER_MS = 3000;
/** A placeholder input's picture: one colour, scaled to its region. */
const PLACEHOLDER_SIZE = 64;

/** One ffmpeg of a mix with what feeds it: its input feeds, their hub listeners, its pacing timer. */
class MixRun {
  readonly feeds: InputFeed[] = [];
  readonly unlisten: (() => void)[] = [];
  stopTicks: (() => void) | undefined;
  /** Shift from this ffmpeg's output timestamps to the output publish's; set at its first tag. */
  shift: number | undefined;
  /** When it first wrote (wall ms). */
  firstOutputAt: number | undefined;
  constructor(
    readonly proc: FfmpegProcess,
    readonly layout: MixLayout,
  ) {}

  /** Detaches its feeds; `kill` also ends its ffmpeg at once. */
  end(kill: boolean): Promise<unknown> {
    this.stopTicks?.();
    for (const unlisten of this.unlisten) unlisten();
    this.unlisten.length = 0;
    if (kill) this.proc.kill('SIGKILL');
    return this.proc.exited;
  }
}

/**
 * One running mix: an ffmpeg that decodes every input (each on its own pipe, fed by an InputFeed), lays them out
 * and mixes them by its filter graph, and encodes one FLV on stdout, which enters the recording path as the
 * output stream's publish. A layout change is made before it breaks: a new ffmpeg starts beside the old one,
 * which goes on until the new one writes, and the publish carries on from one to the other with its
 * timestamps running with the clock. An ffmpeg that dies is an interruption of the publish, as a publisher's
 * reconnect is.
 */
export class Mixer extends TypedEmitter<MixerEvents> {
  readonly #o: MixerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #startedAt: number;
  #layout: MixLayout;
  /** The run whose output is published, and the one that takes over once it writes. */
  #current: MixRun | undefined;
  #next: MixRun | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #sink: PublishSink | undefined;
  /** The last output timestamp sent, and when (wall ms). */
  #lastDts = -1;
  #lastAt = 0;
  /** When the output publish's timestamp 0 was sent (wall ms). */
  #publishAt = 0;
  #stopped = false;
  #failures = 0;
  readonly #clips = new Map<string, Promise<PlaceholderClip>>();
  /** Inputs whose video is not H.264: their placeholder is made in their codec, so they can follow it. */
  readonly #inputCodecs = new Map<string, StillClipCodec>();
  #rebuilds: Promise<void> = Promise.resolve();

  constructor(layout: MixLayout, options: MixerOptions) {
    super();
    this.#o = options;
    this.#layout = layout;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
    this.#log = options.logger.child({ component: 'mixer', mixSessionId: layout.sessionId });
  }

  get layout(): MixLayout {
    return this.#layout;
  }

  /** Whether the output is published now. */
  get publishing(): boolean {
    return this.#sink !== undefined;
  }

  /**
   * How far the output's timestamps trail the wall clock since its publish began (ms), at the last tag sent: a
   * mix that cannot keep real time shows it growing.
   */
  get lagMs(): number | undefined {
    return this.#sink && this.#lastDts >= 0 ? this.#lastAt - this.#publishAt - this.#lastDts : undefined;
  }

  /** pid of the mix's ffmpeg whose output is published, while it runs. */
  get pid(): number | undefined {
    const proc = this.#current?.proc;
    return proc?.running ? proc.pid : undefined;
  }

  async start(): Promise<void> {
    await this.#run();
  }

  /** A new layout for the running mix: a new ffmpeg, the same output publish. */
  async update(layout: MixLayout): Promise<void> {
    this.#layout = layout;
    await this.#run();
  }

  /** Ends the mix and its output publish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    const runs = [this.#current, this.#next];
    this.#current = this.#next = undefined;
    await Promise.all(runs.map((run) => run?.end(true)));
    this.#endPublish('unpublished');
  }

  #clock = (): number => this.#now() - this.#startedAt;

  #clip(spec: StillClipSpec): Promise<PlaceholderClip> {
    const key = JSON.stringify(spec);
    let clip = this.#clips.get(key);
    if (!clip) {
      clip = renderStillClip(this.#o.ffmpegPath, spec, { logger: this.#log, x264Preset: 'ultrafast' }).then(
        (flv) => placeholderClip(parseFlvTags(flv)),
      );
      clip.catch(() => this.#clips.delete(key));
      this.#clips.set(key, clip);
    }
    return clip;
  }

  /** Starts an ffmpeg for the current layout; it takes over the output once it writes. */
  async #run(): Promise<void> {
    if (this.#stopped) return;
    const layout = this.#layout;
    const { output } = layout;
    const audio = { sampleRate: output.sampleRate, channels: output.channels, seconds: PLACEHOLDER_SECONDS };
    const video = (width: number, height: number) => ({
      width,
      height,
      color: layout.color,
      fps: output.fps,
      gopSeconds: 1,
    });
    const holes = new Map<string, PlaceholderClip>();
    try {
      for (const input of layout.inputs) {
        const codec = this.#inputCodecs.get(input.name) ?? 'h264';
        const spec = { ...audio, video: { ...video(PLACEHOLDER_SIZE, PLACEHOLDER_SIZE), codec } };
        holes.set(input.name, await this.#clip(spec));
      }
    } catch (err) {
      this.#failed(`cannot make the placeholder clips: ${errorMessage(err)}`);
      return;
    }
    if (this.#stopped || this.#layout !== layout) return;

    const index = new Map(layout.inputs.map((input, i) => [input.name, i + 1]));
    const graph = buildMixGraph(layout, (name) => index.get(name)!);
    const proc = new FfmpegProcess(this.#o.ffmpegPath, this.#args(layout, graph, index.size), {
      logger: this.#log,
      inputPipes: index.size,
      readOutput: true,
    });
    const run = new MixRun(proc, layout);
    // A run still waiting to take over gives way to this newer one.
    void this.#next?.end(true);
    this.#next = run;
    this.#log.info({ pid: proc.pid, inputs: layout.inputs.length, filter: graph.filter }, 'mix started');

    for (const input of layout.inputs) {
      // ffmpeg's input i (1 and up) is pipe i - 1: input 0 is the background.
      const pipe = index.get(input.name)! - 1;
      const feed = new InputFeed({
        onForeignCodec: (codec: string) => this.#foreignCodec(input.name, codec),
        write: (bytes) => void proc.writeInput(pipe, bytes),
        placeholder: holes.get(input.name)!,
        clock: this.#clock,
        stallMs: this.#o.stallMs ?? 500,
        maxSkewMs: 1000,
      });
      run.feeds.push(feed);
      const { app, stream } = this.#o.resolve(input.name);
      run.unlisten.push(
        this.#o.hub.listen(app, stream, {
          onPublish: (_request, headers) => feed.onPublish(headers),
          onPacket: (packet) => feed.onPacket(packet),
          onUnpublish: () => feed.onUnpublish(),
        }),
      );
    }
    run.stopTicks = beat.every(() => {
      for (const feed of run.feeds) feed.tick();
    });

    const reader = new FlvTagReader();
    proc.output?.on('data', (chunk: Buffer) => {
      try {
        const tags = reader.push(chunk);
        // The graph is up once ffmpeg writes: live inputs may come in now.
        if (tags.length) for (const feed of run.feeds) feed.release();
        for (const tag of tags) this.#forward(run, tag);
      } catch (err) {
        this.#log.error({ err: errorMessage(err) }, 'unreadable mix output');
        proc.kill('SIGKILL');
      }
    });
    void proc.exited.then((exit) => this.#onExit(run, exit));
  }

  #args(layout: MixLayout, graph: MixGraph, pipes: number): string[] {
    return [
      ...['-hide_banner', '-nostats', '-loglevel', 'warning'],
      // Read at its own rate: with no input heard, the background's silence would else run ahead of the picture.
      '-re',
      ...backgroundInput(layout),
      // The feeds write both headers and the first frames at once: a short probe is enough.
      ...Array.from({ length: pipes }, (_, i) => [
        ...['-thread_queue_size', '512', '-analyzeduration', '200000', '-f', 'flv', '-i', `pipe:${3 + i}`],
      ]).flat(),
      ...mixEncodeArgs(layout, graph, this.#o.x264Preset),
      ...['-flush_packets', '1', '-f', 'flv', '-flvflags', 'no_duration_filesize', 'pipe:1'],
    ];
  }

  /** An input publishes in another codec than its placeholder's: the mix is rebuilt for it, if ffmpeg reads it. */
  #foreignCodec(name: string, codec: string): void {
    const caps = this.#o.capabilities;
    const readable =
      (codec === 'h265' && (caps.hevcEnhanced || caps.hevcCodecId12)) ||
      (codec === 'av1' && caps.av1Enhanced);
    if (!readable) {
      this.#log.warn(
        { input: name, codec, ffmpeg: caps.version },
        'mix input in a codec this ffmpeg cannot decode; its region stays empty',
      );
      return;
    }
    if (this.#inputCodecs.get(name) === codec) return;
    this.#log.info({ input: name, codec }, 'mix input in another codec: the mix is rebuilt for it');
    this.#inputCodecs.set(name, codec as StillClipCodec);
    // Codecs found while a rebuild runs are taken by the next one.
    this.#rebuilds = this.#rebuilds
      .then(() => this.update(this.#layout))
      .catch((err: unknown) => this.#log.error({ err: errorMessage(err) }, 'mix rebuild failed'));
  }

  #forward(run: MixRun, tag: FlvTag): void {
    if (run === this.#next) {
      // The new ffmpeg takes over once its live inputs have joined it (or after TAKEOVER_MS): until then the
      // old one's picture is the output, so a layout change shows no empty regions.
      const now = this.#now();
      run.firstOutputAt ??= now;
      const joined = run.feeds.every((feed) => !feed.joining) || now - run.firstOutputAt > TAKEOVER_MS;
      if (this.#current && !joined) return;
      const old = this.#current;
      this.#current = run;
      this.#next = undefined;
      void old?.end(true);
    }
    if (run !== this.#current) return;
    if (!this.#sink) {
      const decision = this.#o.admit(this.#o.outputRequest());
      if ('refuse' in decision) {
        this.#log.warn({ reason: decision.refuse }, 'mix output refused');
        this.emit('refused', decision.refuse);
        // Tried again later, as after a failure: a full disk or a duplicate may clear.
        this.#current = undefined;
        void run.end(true).then(() => this.#failed(`the output was refused: ${decision.refuse}`));
        return;
      }
      this.#sink = decision.accept;
    }
    // Each ffmpeg's first tag lands where the clock says, just after the last one sent: one timeline.
    const now = this.#now();
    run.shift ??=
      this.#lastDts < 0 ? -tag.timestamp : this.#lastDts + Math.max(1, now - this.#lastAt) - tag.timestamp;
    const dts = Math.max(0, tag.timestamp + run.shift);
    if (tag.type !== 18 && dts > this.#lastDts) {
      if (this.#lastDts < 0) this.#publishAt = now - dts;
      this.#lastDts = dts;
      this.#lastAt = now;
    }
    const { output, video } = run.layout;
    const metadata =
      tag.type === 18
        ? {
            ...(video
              ? { width: output.width, height: output.height, framerate: output.fps, videocodecid: 7 }
              : {}),
            audiocodecid: 10,
            audiosamplerate: output.sampleRate,
          }
        : undefined;
    this.#sink.onPacket(packetOfTag(tag, dts, metadata));
    this.#failures = 0;
  }

  #onExit(run: MixRun, exit: FfmpegExit): void {
    void run.end(false);
    const wasCurrent = run === this.#current;
    if (run === this.#current) this.#current = undefined;
    else if (run === this.#next) this.#next = undefined;
    else return;
    if (this.#stopped || exit.requested) return;
    // A new ffmpeg that dies before taking over leaves the old one running; the layout is tried again.
    // The error is among the last lines, before what ffmpeg prints as it winds down.
    const tail = exit.stderrTail.slice(-6).join(' | ');
    const reason = exit.spawnError ?? `code ${exit.code}, signal ${exit.signal}: ${tail}`;
    if (!wasCurrent && this.#current) {
      this.#log.error({ reason }, 'new mix ffmpeg died before taking over; the running one goes on');
      this.emit('restart', reason);
      this.#restartTimer = setTimeout(() => void this.#run(), this.#o.restartDelayMs ?? 500);
      return;
    }
    this.#failed(`the mix's ffmpeg died (${reason})`);
  }

  #failed(reason: string): void {
    this.#failures++;
    this.#log.error({ reason, failures: this.#failures }, 'mix failed; restarting');
    this.emit('restart', reason);
    // To the output's recording this is a publisher's interruption: the resume window joins what follows.
    this.#endPublish('disconnected');
    const delay = Math.min(10_000, (this.#o.restartDelayMs ?? 500) * 2 ** Math.min(5, this.#failures - 1));
    this.#restartTimer = setTimeout(() => void this.#run(), delay);
  }

  #endPublish(reason: 'unpublished' | 'disconnected'): void {
    const sink = this.#sink;
    this.#sink = undefined;
    this.#lastDts = -1;
    sink?.onEnd(reason);
  }
}
