import type { MediaPacket } from '../ingest/index.js';
import { encodeTag, flvHeader, isSequenceHeader, type FlvTag } from '../shared/flv.js';

/** A pre-encoded clip of one colour and silence, looped for a track that has no live source. */
export interface PlaceholderClip {
  headers: FlvTag[];
  video: FlvTag[];
  audio: FlvTag[];
  /** Length of one loop, ms. */
  spanMs: number;
  /** The codec of its video: a live video in another codec cannot follow it on the same pipe. */
  videoCodec: string | undefined;
}

/** The video codec of an FLV video tag body: `h264`, `h265`, `av1`, or the enhanced FourCC / codec id. */
export function videoCodecOf(data: Buffer): string {
  const first = data[0] ?? 0;
  if (first & 0x80) {
    const fourcc = data.toString('latin1', 1, 5);
    return fourcc === 'hvc1' ? 'h265' : fourcc === 'av01' ? 'av1' : fourcc;
  }
  const id = first & 0x0f;
  return id === 7 ? 'h264' : id === 12 ? 'h265' : `codec ${id}`;
}

/** Splits an FLV clip's tags into what a feed loops. */
export function placeholderClip(tags: readonly FlvTag[]): PlaceholderClip {
  const media = tags.filter((t) => t.type !== 18);
  const frames = media.filter((t) => !isSequenceHeader(t) && t.data.length > 2);
  const last = Math.max(0, ...frames.map((t) => t.timestamp));
  const video = media.find((t) => t.type === 9);
  return {
    videoCodec: video ? videoCodecOf(video.data) : undefined,
    headers: media.filter(isSequenceHeader),
    video: frames.filter((t) => t.type === 9),
    audio: frames.filter((t) => t.type === 8),
    // One video frame past the last, so loops sit end to end.
    spanMs: last + 40,
  };
}

type Kind = 'audio' | 'video';

interface TrackState {
  source: 'placeholder' | 'live';
  /** Placeholder: the mix time of the loop's start, and the next frame. */
  loopBase: number;
  next: number;
  /** Live: mix time = dts - liveZero. */
  liveZero: number;
  lastLiveAt: number;
  /** The last timestamp written: a track's timestamps never go back. */
  last: number;
}

export interface InputFeedOptions {
  write: (bytes: Buffer) => void;
  placeholder: PlaceholderClip;
  /** Mix time, ms since the mix began. */
  clock: () => number;
  /** A live track silent this long gives way to the placeholder until it comes back. */
  stallMs: number;
  /** How far a live track's timestamps may drift from its arrival before it is placed again by arrival. */
  maxSkewMs: number;
  /** The live video is in another codec than the placeholder's: it stays out, and the mix is told (once). */
  onForeignCodec?: (codec: string) => void;
}

/**
 * One input of a mix, as the FLV stream ffmpeg reads on its pipe. Each track plays the live publish when there
 * is one, placed on the mix clock by its arrival, and else the placeholder clip at real-time pace: the pipe
 * never runs dry, so the filter graph never waits on an input that is absent, gone or stalled.
 */
export class InputFeed {
  readonly #o: InputFeedOptions;
  readonly #tracks: Record<Kind, TrackState>;
  /** The live publish's sequence headers, sent when a track switches to it. */
  readonly #liveHeaders = new Map<Kind, MediaPacket>();
  #live = false;
  #foreignTold = false;
  /** Live media waits until ffmpeg has set up its graph (see release). */
  #held = true;

  constructor(options: InputFeedOptions) {
    this.#o = options;
    const now = options.clock();
    const track = (): TrackState => ({
      source: 'placeholder',
      loopBase: now,
      next: 0,
      liveZero: 0,
      lastLiveAt: 0,
      last: now,
    });
    this.#tracks = { audio: track(), video: track() };
    options.write(flvHeader(true, true));
    for (const header of options.placeholder.headers) this.#emit(header, now);
  }

  /**
   * Lets live media in. Until then the placeholder plays: ffmpeg sets its graph up on the first frame of every
   * input, and a frame of another size queued before that is fatal to it; once it runs, a size change only
   * rebuilds the graph.
   */
  release(): void {
    this.#held = false;
  }

  /** Whether the input publishes but none of its tracks plays it yet (waiting for a keyframe, or held). */
  get joining(): boolean {
    return this.#live && !this.live;
  }

  /** Whether any track plays the live publish. */
  get live(): boolean {
    return this.#tracks.video.source === 'live' || this.#tracks.audio.source === 'live';
  }

  onPublish(headers: readonly MediaPacket[]): void {
    this.#live = true;
    this.#foreignTold = false;
    this.#liveHeaders.clear();
    for (const header of headers) this.#keepHeader(header);
  }

  onUnpublish(): void {
    this.#live = false;
    for (const kind of ['video', 'audio'] as const) this.#toPlaceholder(kind);
  }

  onPacket(packet: MediaPacket): void {
    if (!this.#live || packet.kind === 'script') return;
    const kind = packet.kind;
    if (packet.isSequenceHeader) {
      this.#keepHeader(packet);
      if (this.#tracks[kind].source === 'live') this.#emitPacket(packet, this.#tracks[kind]);
      return;
    }
    const track = this.#tracks[kind];
    const now = this.#o.clock();
    if (track.source !== 'live') {
      if (this.#held) return;
      if (kind === 'video' && this.#o.placeholder.videoCodec) {
        const codec = videoCodecOf(packet.tag.subarray(11));
        if (codec !== this.#o.placeholder.videoCodec) {
          if (!this.#foreignTold) this.#o.onForeignCodec?.(codec);
          this.#foreignTold = true;
          return;
        }
      }
      // Video joins at a keyframe; audio once the video has joined, or at once when the publish has none.
      const ready =
        kind === 'video'
          ? packet.isKeyFrame && this.#liveHeaders.has('video')
          : this.#tracks.video.source === 'live' || !this.#liveHeaders.has('video');
      if (!ready) return;
      track.source = 'live';
      track.liveZero = packet.dts - now;
      const header = this.#liveHeaders.get(kind);
      if (header) this.#emitPacket(header, track, now);
    } else if (Math.abs(packet.dts - track.liveZero - now) > this.#o.maxSkewMs) {
      // Its timestamps jumped or drifted away from its arrival: placed by arrival again.
      track.liveZero = packet.dts - now;
    }
    track.lastLiveAt = now;
    this.#emitPacket(packet, track);
  }

  /** Writes the placeholder frames now due, and hands a stalled live track to the placeholder. */
  tick(): void {
    const now = this.#o.clock();
    for (const kind of ['video', 'audio'] as const) {
      const track = this.#tracks[kind];
      if (track.source === 'live' && now - track.lastLiveAt > this.#o.stallMs) this.#toPlaceholder(kind);
      if (track.source !== 'placeholder') continue;
      const frames = this.#o.placeholder[kind];
      if (frames.length === 0) continue;
      for (;;) {
        if (track.next >= frames.length) {
          track.next = 0;
          track.loopBase += this.#o.placeholder.spanMs;
        }
        const frame = frames[track.next]!;
        const at = track.loopBase + frame.timestamp;
        if (at > now) break;
        this.#emit(frame, at);
        track.next++;
      }
    }
  }

  #keepHeader(packet: MediaPacket): void {
    if (packet.kind === 'script') return;
    this.#liveHeaders.set(packet.kind, packet);
  }

  #toPlaceholder(kind: Kind): void {
    const track = this.#tracks[kind];
    if (track.source === 'placeholder') return;
    track.source = 'placeholder';
    track.loopBase = Math.max(this.#o.clock(), track.last + 1);
    track.next = 0;
    const header = this.#o.placeholder.headers.find((h) => (h.type === 9) === (kind === 'video'));
    if (header) this.#emit(header, track.loopBase);
  }

  #emitPacket(packet: MediaPacket, track: TrackState, at?: number): void {
    const data = packet.tag.subarray(11, packet.tag.length - 4);
    this.#emit(
      { type: packet.kind === 'video' ? 9 : 8, timestamp: 0, data },
      at ?? packet.dts - track.liveZero,
    );
  }

  #emit(tag: FlvTag, at: number): void {
    const track = this.#tracks[tag.type === 9 ? 'video' : 'audio'];
    const timestamp = Math.max(Math.round(at), track.last);
    track.last = timestamp;
    this.#o.write(encodeTag({ type: tag.type, timestamp, data: tag.data }));
  }
}
