/**
 * Where a wall-clock moment falls in a recording's media (pure). A recording is a list of spans: each run of
 * contiguous media (an HLS recording resumed twice has three), in media order, from the program date-time of
 * their segments, or one span per FLV, MP4 or AAC part.
 */
export interface MediaSpan {
  /** Wall-clock Unix ms of the span's first media. */
  startMs: number;
  seconds: number;
}

/**
 * Media seconds from the recording's first media to `atMs`; a moment between two spans (the publisher was
 * away) lands where the next span starts. Undefined before the first span or after the last.
 */
export function mediaSecondsAt(spans: readonly MediaSpan[], atMs: number): number | undefined {
  let before = 0;
  for (const span of spans) {
    if (atMs < span.startMs) return before > 0 || spans[0] !== span ? before : undefined;
    const into = (atMs - span.startMs) / 1000;
    if (into <= span.seconds) return before + into;
    before += span.seconds;
  }
  return undefined;
}

/** Segments (start, duration) merged into spans: a segment starting within `slackMs` of the last's end joins it. */
export function spansOfSegments(
  segments: readonly { startMs: number; durationSeconds: number; discontinuity?: boolean }[],
  slackMs = 1000,
): MediaSpan[] {
  const spans: MediaSpan[] = [];
  for (const s of segments) {
    const last = spans.at(-1);
    if (last && !s.discontinuity && Math.abs(last.startMs + last.seconds * 1000 - s.startMs) <= slackMs) {
      last.seconds += s.durationSeconds;
    } else {
      spans.push({ startMs: s.startMs, seconds: s.durationSeconds });
    }
  }
  return spans;
}

/** The wall-clock window a recording's spans cover: [first start, last end]. */
export function spanWindow(spans: readonly MediaSpan[]): { fromMs: number; toMs: number } | undefined {
  const first = spans[0];
  const last = spans.at(-1);
  if (!first || !last) return undefined;
  return { fromMs: first.startMs, toMs: last.startMs + last.seconds * 1000 };
}

/**
 * The spans of a live recording so far (pure): its closed HLS segments, then the run being recorded up to
 * `nowMs` (joining the last span, or a span of its own after a resume).
 */
export function liveSpans(
  segments: readonly { startMs: number; durationSeconds: number; discontinuity?: boolean }[],
  runStartMs: number | undefined,
  nowMs: number,
): MediaSpan[] {
  const spans = spansOfSegments(segments);
  if (runStartMs === undefined) return spans;
  const last = spans.at(-1);
  const lastEnd = last ? last.startMs + last.seconds * 1000 : undefined;
  if (last && lastEnd !== undefined && runStartMs <= lastEnd + 1000) {
    last.seconds = Math.max(last.seconds, (nowMs - last.startMs) / 1000);
  } else {
    spans.push({ startMs: runStartMs, seconds: Math.max(0, (nowMs - runStartMs) / 1000) });
  }
  return spans;
}
