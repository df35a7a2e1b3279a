// One process, many RTMP publishers: each replays the same FLV fixture at real-time pace under its own stream
// name, looping it with increasing timestamps, and counts what it sent.
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { TypedEmitter } from '../shared/typed-emitter.js';
import { parseFlvTags, prepareFixture, type LoadFixtureTags } from './flv.js';
import { RtmpPublisher, rtmpTarget } from './rtmp-client.js';

export interface LoadOptions {
  /** e.g. rtmp://127.0.0.1:1935/live */
  url: string;
  streams: string[];
  /** A server URL per stream, in place of `url` (a server per stream, such as ffmpeg's `-listen 1` inputs). */
  urls?: readonly string[];
  /** A connection refused (the server not listening yet) is tried again every 100 ms until this long. */
  connectWaitMs?: number;
  fixture: string;
  durationSeconds: number;
  /** spread connects over this many ms */
  rampMs?: number;
  /** How often due frames are sent; the pace follows the fixture's timestamps, not this. */
  tickMs?: number;
  /** A publisher whose socket holds more than this unsent is failed (the server stopped reading). */
  maxQueuedBytes?: number;
  chunkSize?: number;
  /** Type-1 (delta) headers for media, as encoders send them; default type 0. */
  deltaHeaders?: boolean;
  /**
   * The timestamp stamped on a frame of media time `ts` (ms); the pace follows `ts`. Default: `ts`. For tests of
   * encoders whose clocks reset, jump, wrap or drift.
   */
  stamp?: (type: 8 | 9, ts: number) => number;
  /** Frames for which this is true are not sent (an encoder that sends nothing a while, audio that starts late). */
  drop?: (type: 8 | 9, ts: number) => boolean;
}

export interface StreamLoadStats {
  stream: string;
  /** H.264 frames sent (sequence headers not counted). */
  videoFrames: number;
  /** AAC frames sent (sequence headers not counted). */
  audioFrames: number;
  /** Bytes written to the connection, RTMP framing included. */
  bytes: number;
  /** Epoch ms when the publish was accepted. */
  startedAtMs: number | undefined;
  /** Epoch ms when the publisher unpublished (or failed). */
  endedAtMs: number | undefined;
  error?: string;
  /** Timestamp (ms) of the last frame sent; the media span of the push. */
  lastTimestampMs: number;
  /** Most bytes ever waiting in the socket: how far the server fell behind. */
  maxQueuedBytes: number;
}

export interface LoadGeneratorEvents {
  connected: [stream: string];
  error: [stream: string, err: Error];
  done: [stats: StreamLoadStats[]];
}

type SlotState = 'waiting' | 'connecting' | 'publishing' | 'finished';

interface Slot {
  stats: StreamLoadStats;
  state: SlotState;
  publisher?: RtmpPublisher;
  /** performance.now() at publish start: media time 0. */
  t0: number;
  loop: number;
  index: number;
  /** The connect attempt, once its ramp delay has passed; settles after a publish refused or closed by stop(). */
  connecting?: Promise<void>;
  closing?: Promise<void>;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Drives N publishers from one process. */
export class LoadGenerator extends TypedEmitter<LoadGeneratorEvents> {
  readonly #o: Required<Omit<LoadOptions, 'rampMs'>> & { rampMs: number };
  readonly #slots: Slot[];
  #fixture: LoadFixtureTags | undefined;
  #ticker: NodeJS.Timeout | undefined;
  #started: Promise<void> | undefined;
  #stopping = false;
  #finish: Promise<StreamLoadStats[]> | undefined;
  #resolveDone!: (stats: StreamLoadStats[]) => void;
  readonly #rampTimers = new Set<NodeJS.Timeout>();
  /** Resolves after durationSeconds (every publisher done) and stop, or after an earlier stop(). */
  readonly done: Promise<StreamLoadStats[]>;

  constructor(o: LoadOptions) {
    super();
    if (o.streams.length === 0) throw new RangeError('streams must not be empty');
    if (new Set(o.streams).size !== o.streams.length) throw new RangeError('stream names must be distinct');
    if (!(o.durationSeconds > 0)) throw new RangeError('durationSeconds must be positive');
    if (o.urls && o.urls.length !== o.streams.length)
      throw new RangeError('urls must have one URL per stream');
    this.#o = {
      urls: [],
      connectWaitMs: 0,
      rampMs: 0,
      tickMs: 10,
      maxQueuedBytes: 64 * 1024 * 1024,
      chunkSize: 4096,
      deltaHeaders: false,
      stamp: (_type, ts) => ts,
      drop: () => false,
      ...o,
    };
    this.#slots = o.streams.map((stream) => ({
      stats: {
        stream,
        videoFrames: 0,
        audioFrames: 0,
        bytes: 0,
        startedAtMs: undefined,
        endedAtMs: undefined,
        lastTimestampMs: 0,
        maxQueuedBytes: 0,
      },
      state: 'waiting',
      t0: 0,
      loop: 0,
      index: 0,
    }));
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    // 'error' reports one publisher's failure; without a listener EventEmitter would throw it instead.
    this.on('error', () => {});
  }

  /** Connects all publishers (spread over rampMs) and starts pacing; resolves once every connect has settled. */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    this.#fixture = prepareFixture(parseFlvTags(await readFile(this.#o.fixture)));
    this.#ticker = setInterval(() => this.#tick(), this.#o.tickMs);
    const n = this.#slots.length;
    await Promise.all(
      this.#slots.map(
        (slot, i) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(
              () => {
                this.#rampTimers.delete(timer);
                slot.connecting = this.#connect(slot);
                void slot.connecting.then(resolve);
              },
              n > 1 ? (this.#o.rampMs * i) / n : 0,
            );
            this.#rampTimers.add(timer);
            // stop() during the ramp settles the connects that never began.
            void this.done.then(() => resolve());
          }),
      ),
    );
  }

  async #connect(slot: Slot): Promise<void> {
    if (this.#stopping) {
      slot.state = 'finished';
      return;
    }
    slot.state = 'connecting';
    let publisher: RtmpPublisher;
    const url = this.#o.urls[this.#slots.indexOf(slot)] ?? this.#o.url;
    const giveUpAt = Date.now() + this.#o.connectWaitMs;
    for (;;) {
      try {
        publisher = await RtmpPublisher.publish(rtmpTarget(url, slot.stats.stream), {
          chunkSize: this.#o.chunkSize,
          deltaHeaders: this.#o.deltaHeaders,
        });
        break;
      } catch (err) {
        const refused = (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
        if (!refused || Date.now() >= giveUpAt || this.#stopping) {
          this.#failed(slot, err);
          return;
        }
        await new Promise((wake) => setTimeout(wake, 100));
      }
    }
    slot.publisher = publisher;
    void publisher.closed.then((err) => {
      if (err && slot.state === 'publishing') this.#failed(slot, err);
    });
    if (this.#stopping) {
      slot.state = 'publishing';
      await this.#close(slot);
      return;
    }
    const fixture = this.#fixture!;
    if (fixture.metadata) publisher.sendMetadata(fixture.metadata);
    for (const tag of fixture.headers) publisher.sendMedia(tag.type as 8 | 9, 0, tag.data);
    slot.t0 = performance.now();
    slot.stats.startedAtMs = Date.now();
    slot.state = 'publishing';
    this.emit('connected', slot.stats.stream);
    this.#sendDue(slot);
  }

  #failed(slot: Slot, err: unknown): void {
    if (slot.state === 'finished') return;
    slot.state = 'finished';
    slot.stats.error = errorText(err);
    slot.stats.endedAtMs = Date.now();
    if (slot.publisher) {
      slot.stats.bytes = slot.publisher.bytesWritten;
      slot.publisher.destroy();
    }
    this.emit('error', slot.stats.stream, err instanceof Error ? err : new Error(String(err)));
    this.#checkAllFinished();
  }

  #tick(): void {
    for (const slot of this.#slots) if (slot.state === 'publishing') this.#sendDue(slot);
  }

  /** Sends every frame whose timestamp has come; ends the publish once the duration is reached. */
  #sendDue(slot: Slot): void {
    const fixture = this.#fixture!;
    const publisher = slot.publisher!;
    const first = fixture.frames[0]!.timestamp;
    const elapsed = performance.now() - slot.t0;
    const durationMs = this.#o.durationSeconds * 1000;
    for (;;) {
      const tag = fixture.frames[slot.index]!;
      const ts = tag.timestamp - first + slot.loop * fixture.loopMs;
      if (ts >= durationMs) {
        void this.#close(slot);
        return;
      }
      if (ts > elapsed) break;
      if (!publisher.writable) return; // the close handler reports why
      if (!this.#o.drop(tag.type as 8 | 9, ts)) {
        publisher.sendMedia(tag.type as 8 | 9, this.#o.stamp(tag.type as 8 | 9, ts), tag.data);
        if (tag.type === 9) slot.stats.videoFrames++;
        else slot.stats.audioFrames++;
        slot.stats.lastTimestampMs = ts;
      }
      if (++slot.index === fixture.frames.length) {
        slot.index = 0;
        slot.loop++;
      }
    }
    slot.stats.bytes = publisher.bytesWritten + publisher.queuedBytes;
    slot.stats.maxQueuedBytes = Math.max(slot.stats.maxQueuedBytes, publisher.queuedBytes);
    if (publisher.queuedBytes > this.#o.maxQueuedBytes) {
      this.#failed(
        slot,
        new Error(`more than ${this.#o.maxQueuedBytes} bytes unsent: the server is not reading`),
      );
    }
  }

  /** Unpublishes one slot (once). */
  #close(slot: Slot): Promise<void> {
    slot.closing ??= (async () => {
      if (slot.state !== 'publishing') return;
      slot.state = 'finished';
      slot.stats.endedAtMs = Date.now();
      const publisher = slot.publisher!;
      slot.stats.bytes = publisher.bytesWritten + publisher.queuedBytes;
      await publisher.unpublish();
      this.#checkAllFinished();
    })();
    return slot.closing;
  }

  #checkAllFinished(): void {
    if (this.#slots.every((s) => s.state === 'finished')) void this.stop();
  }

  /** Live counters, one entry per stream. */
  stats(): StreamLoadStats[] {
    return this.#slots.map((s) => ({ ...s.stats }));
  }

  /** Unpublishes and closes every connection; resolves with the final counts. Idempotent. */
  stop(): Promise<StreamLoadStats[]> {
    this.#finish ??= (async () => {
      this.#stopping = true;
      for (const timer of this.#rampTimers) clearTimeout(timer);
      this.#rampTimers.clear();
      clearInterval(this.#ticker);
      // Connects in flight finish first, so none is left open; #connect closes them since we are stopping.
      await Promise.all(
        this.#slots.map(async (slot) => {
          if (slot.state === 'waiting') slot.state = 'finished';
          await slot.connecting;
          await this.#close(slot);
        }),
      );
      const stats = this.stats();
      this.#resolveDone(stats);
      this.emit('done', stats);
      return stats;
    })();
    return this.#finish;
  }
}
