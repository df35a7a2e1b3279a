/**
 * Media time of one publish, repaired. Encoders reset their clock without reconnecting, jump forward after a
 * stall, wrap RTMP's 32-bit millisecond clock after 49.7 days, and let audio drift from video. Every consumer
 * downstream (ffmpeg, the GOP cache, a mixer) sees one continuous timeline instead.
 *
 * Pure: the arrival time of each packet is passed in. Output time starts at 0 with the publish's first media,
 * and each track keeps its own offset from its raw dts; a repair changes that offset, never a rate.
 */

/** How the repairer judges and repairs; times in milliseconds. */
export interface TimestampPolicy {
  /** Off: timestamps pass as the publisher sent them (still rebased to start at 0). */
  repair: boolean;
  /** A dts that goes back by more than this is a reset (or a wrap of the 32-bit clock). */
  maxBackwardStepMs: number;
  /** A dts that advances by more than the arrival gap plus this is a jump the wall clock does not confirm. */
  maxForwardJumpMs: number;
  /** Audio whose clock drifts from video's by more than this is slewed back toward it (0: never). */
  maxDriftMs: number;
}

export const DEFAULT_TIMESTAMP_POLICY: Readonly<TimestampPolicy> = Object.freeze({
  repair: true,
  maxBackwardStepMs: 100,
  maxForwardJumpMs: 5000,
  maxDriftMs: 40,
});

export type Track = 'audio' | 'video';

/** What kind of repair: a clock reset, a forward jump, a 32-bit wrap, a late track's start, or drift. */
export const REPAIR_KINDS = ['reset', 'jump', 'wrap', 'start', 'drift'] as const;
export type RepairKind = (typeof REPAIR_KINDS)[number];

/** One repair, for the log and the metrics. */
export interface TimestampRepair {
  kind: RepairKind;
  track: Track;
  /** The raw dts that prompted it. */
  rawDts: number;
  /** The repaired dts given to that packet. */
  dts: number;
  /** How far the track's timeline moved, ms (the change of its offset). */
  sizeMs: number;
}

interface TrackState {
  offset: number;
  lastRaw: number;
  lastOut: number;
  lastArrival: number;
  /** The last positive step between two packets: the track's frame duration. */
  frameMs: number;
  /**
   * Where the track's clock stands against the wall clock: the largest (out − arrival) of the last whole window.
   * A packet held up by the network or a busy event loop only lowers (out − arrival), so the largest of a window
   * is the packets that came on time, whatever the load.
   */
  lead: number | undefined;
  /** The window being measured: when it began (arrival ms) and its largest (out − arrival) so far. */
  window: { from: number; max: number } | undefined;
  /** Whole windows measured. */
  windows: number;
}

const WRAP = 2 ** 32;
// A track whose new raw dts puts it within this of where the other track's rebase predicts follows that rebase.
const FOLLOW_TOLERANCE_MS = 500;
// An arrival gap shorter than this is network or event-loop jitter, not media time that passed: a repair
// across it continues exactly one frame on.
const ARRIVAL_JITTER_MS = 500;
// The lead's window: long enough to hold packets that came on time, short enough that a drift moves little in it.
const LEAD_WINDOW_MS = 500;
// Whole windows per track before drift is judged (about 10 s, so a drift is a trend, not jitter); the starting
// A/V offset is taken from the first, before a drift under way has grown. And how much audio may be slewed per
// audio packet.
const DRIFT_WARMUP_WINDOWS = 20;
const DRIFT_SLEW_MS = 1;

/** Rebases and repairs the timestamps of one publish; one instance per publish. */
export class TimestampRepairer {
  readonly #policy: TimestampPolicy;
  readonly #tracks = new Map<Track, TrackState>();
  /** Offset of the first media: output time 0. */
  #base: number | undefined;
  /** The newest offset a repair chose, and when: a second track that resets with the first follows it. */
  #rebase: { offset: number; at: number } | undefined;
  /** Audio's lead minus video's when drift is first judged; later drift is measured against it. */
  #driftOrigin: number | undefined;
  /** Audio slewed so far, ms (negative: moved earlier). */
  #slewed = 0;
  #drifting = false;
  /** The largest |drift| measured after the warm-up, ms; undefined until it is first measured. */
  #maxDrift: number | undefined;

  constructor(policy: TimestampPolicy = DEFAULT_TIMESTAMP_POLICY) {
    this.#policy = policy;
  }

  /** How far audio has been slewed toward video, ms. */
  get slewedMs(): number {
    return this.#slewed;
  }

  /**
   * The largest A/V offset measured so far, ms: |audio's lead minus video's, less the offset the publish started
   * with|, once both tracks are past the warm-up. Measured whether drift is corrected or not; undefined before
   * the warm-up ends or without both tracks.
   */
  get maxAvOffsetMs(): number | undefined {
    return this.#maxDrift;
  }

  /**
   * The output dts of one packet arriving at `arrivalMs`, and the repair it prompted, if any. Headers and
   * script data do not move the timeline; they are placed at their track's current time.
   */
  map(
    kind: Track | 'script',
    rawDts: number,
    arrivalMs: number,
    isHeader = false,
  ): { dts: number; repair?: TimestampRepair } {
    if (kind === 'script' || isHeader) return { dts: this.#placeHeader(kind, rawDts) };
    this.#base ??= -rawDts;
    const state = this.#tracks.get(kind);
    if (!state) return this.#firstOf(kind, rawDts, arrivalMs);
    const result = this.#policy.repair
      ? this.#next(kind, state, rawDts, arrivalMs)
      : { dts: Math.max(0, rawDts + state.offset) };
    state.lastRaw = rawDts;
    const step = result.dts - state.lastOut;
    if (step > 0 && step < 1000) state.frameMs = step;
    state.lastOut = Math.max(state.lastOut, result.dts);
    state.lastArrival = arrivalMs;
    this.#observeLead(state, result.dts, arrivalMs);
    const drift = kind === 'audio' ? this.#measureDrift(state) : undefined;
    const corrected =
      drift !== undefined && this.#policy.repair
        ? this.#correctDrift(state, rawDts, result.dts, drift)
        : undefined;
    return corrected ?? result;
  }

  #firstOf(track: Track, rawDts: number, arrivalMs: number): { dts: number; repair?: TimestampRepair } {
    const other = this.#tracks.get(track === 'audio' ? 'video' : 'audio');
    let offset = this.#base!;
    let repair: TimestampRepair | undefined;
    if (other && this.#policy.repair) {
      // A track that starts later keeps its offset from the other, unless its clock is unrelated to it.
      const expected = other.lastOut + (arrivalMs - other.lastArrival);
      const candidate = rawDts + offset;
      if (candidate < 0 || Math.abs(candidate - expected) > this.#policy.maxForwardJumpMs) {
        const moved = Math.max(0, expected) - rawDts;
        repair = { kind: 'start', track, rawDts, dts: rawDts + moved, sizeMs: moved - offset };
        offset = moved;
      }
    }
    const dts = Math.max(0, rawDts + offset);
    this.#tracks.set(track, {
      offset,
      lastRaw: rawDts,
      lastOut: dts,
      lastArrival: arrivalMs,
      frameMs: track === 'video' ? 40 : 23,
      lead: undefined,
      window: undefined,
      windows: 0,
    });
    return repair ? { dts, repair } : { dts };
  }

  #next(
    track: Track,
    state: TrackState,
    rawDts: number,
    arrivalMs: number,
  ): { dts: number; repair?: TimestampRepair } {
    const delta = rawDts - state.lastRaw;
    const gap = Math.max(0, arrivalMs - state.lastArrival);
    let kind: RepairKind | undefined;
    if (delta < -this.#policy.maxBackwardStepMs) {
      // The 32-bit clock wrapped if, read across the wrap, the step is an ordinary one.
      const across = delta + WRAP;
      kind =
        state.lastRaw >= WRAP / 2 && rawDts < WRAP / 2 && across <= gap + this.#policy.maxForwardJumpMs
          ? 'wrap'
          : 'reset';
    } else if (delta - gap > this.#policy.maxForwardJumpMs) {
      kind = 'jump';
    }
    if (!kind) return { dts: Math.max(0, rawDts + state.offset) };
    const before = state.offset;
    if (kind === 'wrap') {
      state.offset += WRAP;
    } else {
      const expected = state.lastOut + gap;
      const follow = this.#rebase;
      if (
        follow &&
        follow.offset !== state.offset &&
        arrivalMs - follow.at < 2000 &&
        Math.abs(rawDts + follow.offset - expected) <= FOLLOW_TOLERANCE_MS
      ) {
        // Both tracks reset or jumped together: the same offset keeps their sync exact.
        state.offset = follow.offset;
      } else {
        // Continue one frame on, or by the time that really passed (a stall, not jitter) if that is longer.
        const passed = gap > ARRIVAL_JITTER_MS ? gap : 0;
        state.offset = state.lastOut + Math.max(state.frameMs, passed) - rawDts;
      }
      this.#rebase = { offset: state.offset, at: arrivalMs };
    }
    const dts = Math.max(0, rawDts + state.offset);
    return { dts, repair: { kind, track, rawDts, dts, sizeMs: state.offset - before } };
  }

  #placeHeader(kind: Track | 'script', rawDts: number): number {
    // Before the first media, everything is at the start of the timeline.
    if (this.#base === undefined) return 0;
    const states = [...this.#tracks.values()];
    const latest = Math.max(0, ...states.map((t) => t.lastOut));
    if (kind === 'script') return latest;
    const state = this.#tracks.get(kind);
    // Never behind what its track already sent: a header resent at a reset would step back otherwise.
    return Math.max(state?.lastOut ?? 0, rawDts + (state?.offset ?? this.#base));
  }

  #observeLead(state: TrackState, dts: number, arrivalMs: number): void {
    const lead = dts - arrivalMs;
    const window = state.window;
    if (!window) {
      state.window = { from: arrivalMs, max: lead };
    } else if (arrivalMs - window.from >= LEAD_WINDOW_MS) {
      state.lead = window.max;
      state.windows++;
      state.window = { from: arrivalMs, max: lead };
    } else {
      window.max = Math.max(window.max, lead);
    }
  }

  /** Audio's drift from video at this audio packet, ms, once both tracks are past the warm-up; kept as a maximum. */
  #measureDrift(audio: TrackState): number | undefined {
    const video = this.#tracks.get('video');
    if (!video?.windows || !audio.windows) return undefined;
    const apart = audio.lead! - video.lead!;
    // The offset the publish started with (a late audio start, an encoder's fixed delay) is not drift.
    this.#driftOrigin ??= apart;
    if (audio.windows < DRIFT_WARMUP_WINDOWS || video.windows < DRIFT_WARMUP_WINDOWS) return undefined;
    const drift = apart - this.#driftOrigin;
    this.#maxDrift = Math.max(this.#maxDrift ?? 0, Math.abs(drift));
    return drift;
  }

  /**
   * Video is the master clock: its timestamps are only ever repaired, never slewed. Audio whose lead over the
   * wall clock drifts from video's by more than maxDriftMs is moved back toward it, a millisecond a packet.
   */
  #correctDrift(
    audio: TrackState,
    rawDts: number,
    dts: number,
    drift: number,
  ): { dts: number; repair?: TimestampRepair } | undefined {
    if (!this.#policy.maxDriftMs) return undefined;
    if (!this.#drifting && Math.abs(drift) <= this.#policy.maxDriftMs) return undefined;
    // Slew until the drift is back within a quarter of the bound, then wait for it to exceed the bound again.
    const started = !this.#drifting;
    this.#drifting = Math.abs(drift) > this.#policy.maxDriftMs / 4;
    if (!this.#drifting) return undefined;
    const step = -Math.sign(drift) * DRIFT_SLEW_MS;
    audio.offset += step;
    this.#slewed += step;
    // The lead estimates move with the slew, so the drift measured next already counts it.
    audio.lead! += step;
    audio.window!.max += step;
    // An audio frame lasts over 20 ms, so a 1 ms slew never makes its dts go back.
    const moved = dts + step;
    audio.lastOut = moved;
    return started
      ? {
          dts: moved,
          repair: { kind: 'drift', track: 'audio', rawDts, dts: moved, sizeMs: Math.round(drift) },
        }
      : { dts: moved };
  }
}
