/** What a mix's output frames say of it: frames, and the frames missing or repeated on its time line. */
export interface FrameTimeline {
  frames: number;
  /** First to last frame (s). */
  spanSeconds: number;
  /** Frames a constant `fps` would have had in the span and the output lacks (its gaps). */
  lost: number;
  /** Frames on a time another frame already has. */
  duplicated: number;
  /** Frames per second over the span. */
  fps: number;
  /** Where frames are missing: seconds from the first frame, and how many. */
  gaps: { at: number; frames: number }[];
}

/**
 * Reads a mix's video presentation times against its configured rate: a gap of k frame intervals lost k - 1
 * frames, a time seen twice is a duplicate. Half an interval of jitter is tolerated (timestamps are ms).
 */
export function frameTimeline(times: readonly number[], fps: number): FrameTimeline {
  const sorted = [...times].sort((a, b) => a - b);
  const interval = 1 / fps;
  let lost = 0;
  let duplicated = 0;
  const gaps: FrameTimeline['gaps'] = [];
  for (let i = 1; i < sorted.length; i++) {
    const steps = Math.round((sorted[i]! - sorted[i - 1]!) / interval);
    if (steps <= 0) duplicated++;
    else if (steps > 1) {
      lost += steps - 1;
      gaps.push({ at: Math.round((sorted[i - 1]! - sorted[0]!) * 1000) / 1000, frames: steps - 1 });
    }
  }
  const spanSeconds = sorted.length > 1 ? sorted.at(-1)! - sorted[0]! : 0;
  return {
    frames: sorted.length,
    spanSeconds,
    lost,
    duplicated,
    fps: spanSeconds > 0 ? (sorted.length - 1) / spanSeconds : 0,
    gaps,
  };
}

/** Real time: the rate held (≥ 95 % of the configured one) and the lag grew less than `maxLagGrowthMs`. */
export function keepsRealTime(
  o: { fps: number; lagGrowthMs: number },
  configuredFps: number,
  maxLagGrowthMs = 500,
): boolean {
  return o.fps >= configuredFps * 0.95 && o.lagGrowthMs < maxLagGrowthMs;
}

/**
 * The next concurrency to try when searching for the most mixes that keep real time: doubling from 1 until one
 * fails, then halving the interval between the best that held and the least that failed. Undefined: found.
 */
export function nextConcurrency(
  held: readonly number[],
  failed: readonly number[],
  max: number,
): number | undefined {
  const best = Math.max(0, ...held);
  const worst = Math.min(max + 1, ...failed);
  if (worst - best <= 1) return undefined;
  if (worst > max && failed.length === 0) return best === 0 ? 1 : Math.min(max, best * 2);
  return Math.floor((best + worst) / 2);
}
