// The WebVTT of a recording's scrub thumbnails (pure): which tile of which sprite shows each span of time.

export interface ThumbnailCue {
  start: number;
  end: number;
  /** The sprite, resolved against the VTT's URL and carrying its signature (the same directory signs both). */
  src: string;
  x: number;
  y: number;
  w: number;
  h: number;
}

function seconds(stamp: string): number {
  const parts = stamp.trim().split(':').map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0);
}

export function parseThumbnailVtt(text: string, vttUrl: string): ThumbnailCue[] {
  const base = new URL(vttUrl, location.href);
  const cues: ThumbnailCue[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const timing = /^([\d:.]+)\s+-->\s+([\d:.]+)/.exec(lines[i]!);
    const target = lines[i + 1]?.trim();
    if (!timing || !target) continue;
    const [uri = '', fragment = ''] = target.split('#');
    const box = /xywh=(\d+),(\d+),(\d+),(\d+)/.exec(fragment);
    if (!box) continue;
    const src = new URL(uri, base);
    if (!src.search) src.search = base.search;
    cues.push({
      start: seconds(timing[1]!),
      end: seconds(timing[2]!),
      src: src.href,
      x: Number(box[1]),
      y: Number(box[2]),
      w: Number(box[3]),
      h: Number(box[4]),
    });
  }
  return cues;
}

/** The cue showing time t, or the last one past the end. */
export function cueAt(cues: readonly ThumbnailCue[], t: number): ThumbnailCue | undefined {
  return (
    cues.find((c) => t >= c.start && t < c.end) ??
    (t >= (cues.at(-1)?.end ?? Infinity) ? cues.at(-1) : undefined)
  );
}
