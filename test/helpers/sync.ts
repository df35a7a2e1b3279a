// Flash-and-beep media for measuring a mix's sync and latency: each input flashes white and beeps on every
// whole second of its own timeline; the onsets are found again in the recordings, per region and per tone.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FFPROBE, FIXTURES_DIR, PUBLISHER_FFMPEG } from './fixtures.js';
import { pushFile, type Publisher } from './recorder.js';

const run = promisify(execFile);

/**
 * 60 s, 320x240, 25 fps: white for the first 0.2 s of every second but each fifth (else black), and a `hz` beep
 * at the same times. The missing fifth tells a shift of one second from none, when matching onsets.
 */
export async function flashFixture(hz: number): Promise<string> {
  const path = join(FIXTURES_DIR, `flash2-${hz}.flv`);
  if (existsSync(path)) return path;
  await mkdir(FIXTURES_DIR, { recursive: true });
  const temp = `${path}.${process.pid}.tmp.flv`;
  const on = 'lt(mod(t,1),0.2)*gt(mod(floor(t+0.001),5),0)';
  const picture = `color=c=black:s=320x240:r=25,drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='${on}'`;
  const beep = `sine=frequency=${hz}:sample_rate=44100,volume=volume=0:enable='not(${on})'`;
  await run(PUBLISHER_FFMPEG, [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', picture, '-f', 'lavfi', '-i', beep],
    ...['-map', '0:v', '-map', '1:a', '-t', '60', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25'],
    ...['-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', temp],
  ]);
  await rename(temp, path);
  return path;
}

/** Pushes a fixture in a loop in real time for `seconds`. */
export function pushLooped(file: string, url: string, seconds: number): Publisher {
  return pushFile(file, url, { seconds, loop: true });
}

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Times (s, on the file's own clock) where each region turns from dark to bright. The file's frames are scaled
 * to a 16x9 grey grid first, so a region is given in grid cells of the `width`x`height` picture.
 */
export async function flashOnsets(
  file: string,
  picture: { width: number; height: number },
  regions: readonly Region[],
): Promise<number[][]> {
  const { stdout, stderr } = await run(
    PUBLISHER_FFMPEG,
    [
      ...['-hide_banner', '-nostats', '-i', file, '-an', '-vf', 'scale=16:9,format=gray,showinfo'],
      ...['-f', 'rawvideo', '-'],
    ],
    { encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024 },
  );
  const times = [...stderr.toString('utf8').matchAll(/pts_time:\s*([\d.]+)/g)].map((m) => Number(m[1]));
  const grid = stdout as unknown as Buffer;
  const cell = (r: Region) => ({
    x0: Math.round((r.x / picture.width) * 16),
    x1: Math.round(((r.x + r.width) / picture.width) * 16),
    y0: Math.round((r.y / picture.height) * 9),
    y1: Math.round(((r.y + r.height) / picture.height) * 9),
  });
  return regions.map((region) => {
    const c = cell(region);
    const onsets: number[] = [];
    let bright = false;
    for (let f = 0; f < times.length && (f + 1) * 144 <= grid.length; f++) {
      let sum = 0;
      let n = 0;
      for (let y = c.y0; y < c.y1; y++)
        for (let x = c.x0; x < c.x1; x++, n++) sum += grid[f * 144 + y * 16 + x]!;
      const now = sum / n > 128;
      if (now && !bright) onsets.push(times[f]!);
      bright = now;
    }
    return onsets;
  });
}

/** Times (s) where a tone starts: its band's level per audio frame crossing -45 dB from below. */
export async function beepOnsets(file: string, hz: number): Promise<number[]> {
  const { stderr } = await run(
    PUBLISHER_FFMPEG,
    [
      ...['-hide_banner', '-nostats', '-i', file, '-vn', '-af'],
      `${`bandpass=f=${hz}:width_type=q:w=8,`.repeat(2)}astats=metadata=1:reset=1,ametadata=print:key=lavfi.astats.Overall.RMS_level`,
      ...['-f', 'null', '-'],
    ],
    { maxBuffer: 1024 * 1024 * 1024 },
  );
  const onsets: number[] = [];
  let loud = false;
  let time = 0;
  for (const line of stderr.split('\n')) {
    const pts = /pts_time:([\d.]+)/.exec(line);
    if (pts) time = Number(pts[1]);
    const level = /RMS_level=(-?[\d.]+|-inf)/.exec(line);
    if (!level) continue;
    const now = level[1] !== '-inf' && Number(level[1]) > -45;
    if (now && !loud) onsets.push(time);
    loud = now;
  }
  return onsets;
}

/** The offsets b - a of onsets that are the same event (nearest within half a second), in order. */
export function pairOffsets(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  for (const t of a) {
    const match = b.reduce((best, u) => (Math.abs(u - t) < Math.abs(best - t) ? u : best), Infinity);
    if (Math.abs(match - t) < 0.5) out.push(match - t);
  }
  return out;
}

/** How far the offsets stray from the first ones (the median of the first five), in seconds. */
export function offsetDrift(offsets: readonly number[]): number {
  const start = median(offsets.slice(0, 5));
  return Math.max(0, ...offsets.map((o) => Math.abs(o - start)));
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Wall-clock ms of a stored playlist's first segment (its EXT-X-PROGRAM-DATE-TIME). */
export async function playlistStartMs(path: string): Promise<number> {
  const text = await readFile(path, 'utf8');
  const pdt = /#EXT-X-PROGRAM-DATE-TIME:(\S+)/.exec(text)?.[1];
  if (!pdt) throw new Error(`${path} has no EXT-X-PROGRAM-DATE-TIME`);
  return Date.parse(pdt);
}

/** The first media time (s) ffmpeg reads in a file: what its onsets are counted from. */
export async function startTime(file: string): Promise<number> {
  const { stdout } = await run(FFPROBE, [
    '-v',
    'error',
    '-show_entries',
    'format=start_time',
    '-of',
    'csv=p=0',
    file,
  ]);
  return Number(stdout.trim()) || 0;
}

/**
 * How far `later` trails `earlier` (s): the shift in [-0.2, 3] s that lines up the most onsets within 60 ms,
 * then the median of the lined-up differences. Undefined when fewer than 3 line up.
 */
export function lag(
  earlier: readonly number[],
  later: readonly number[],
): { seconds: number; matched: number } | undefined {
  const sorted = [...earlier].sort((x, y) => x - y);
  const nearest = (t: number) => {
    let lo = 0;
    let hi = sorted.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    const around = [sorted[lo - 1], sorted[lo]].filter((w): w is number => w !== undefined);
    return around.reduce((a, b) => (Math.abs(b - t) < Math.abs(a - t) ? b : a), Infinity);
  };
  let best: number[] | undefined;
  // Candidate shifts: from the first onsets, enough to see the missing fifth.
  for (const u of later.slice(0, 20)) {
    for (const t of sorted) {
      const shift = u - t;
      if (shift < -0.2 || shift > 3) continue;
      const diffs = later.flatMap((v) => {
        const w = nearest(v - shift);
        return Math.abs(v - shift - w) < 0.06 ? [v - w] : [];
      });
      if (!best || diffs.length > best.length) best = diffs;
    }
  }
  return best && best.length >= 3 ? { seconds: median(best), matched: best.length } : undefined;
}
