import type { Logger } from '../shared/logger.js';
import { runFfmpeg } from './process.js';

export interface SpriteGrid {
  intervalSeconds: number;
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
}

// Keyframes only: a thumbnail needs no frame between them, and decoding them alone is a fraction of the cost.
const KEYFRAMES_ONLY = ['-skip_frame', 'nokey'];

/** ffmpeg's arguments for a JPEG of the first keyframe of `input` (a file or URL), `width` wide. */
export function coverArgs(input: string, output: string, width: number): string[] {
  return [
    ...['-hide_banner', '-loglevel', 'error', ...KEYFRAMES_ONLY, '-i', input, '-an', '-sn'],
    ...['-frames:v', '1', '-vsync', '0', '-vf', `scale=${width}:-2`, '-q:v', '4', '-y', output],
  ];
}

/** ffmpeg's arguments for one JPEG sprite sheet: a tile every intervalSeconds, row by row. */
export function spriteArgs(input: string, output: string, grid: SpriteGrid): string[] {
  const filter = [
    // Times from the media's first frame (an MP4's video may start a few ms in, which fps would count as late).
    'setpts=PTS-STARTPTS',
    // round=up: each tile is the last keyframe at or before its time (round=down would take the last one before
    // the next tile's); eof_action=pass keeps a tile for media shorter than one interval.
    `fps=1/${grid.intervalSeconds}:round=up:eof_action=pass`,
    `scale=${grid.tileWidth}:${grid.tileHeight}`,
    `tile=${grid.columns}x${grid.rows}`,
  ].join(',');
  return [
    ...['-hide_banner', '-loglevel', 'error', ...KEYFRAMES_ONLY, '-i', input, '-an', '-sn'],
    ...['-vf', filter, '-frames:v', '1', '-vsync', '0', '-q:v', '5', '-y', output],
  ];
}

/** Renders the cover of `input`. */
export function renderCover(
  ffmpegPath: string,
  input: string,
  output: string,
  options: { width: number; logger: Logger; timeoutMs: number },
): Promise<void> {
  return runFfmpeg(ffmpegPath, coverArgs(input, output, options.width), options);
}

/** Renders the sprite of `input`; a short last row is left blank. */
export function renderSprite(
  ffmpegPath: string,
  input: string,
  output: string,
  grid: SpriteGrid,
  options: { logger: Logger; timeoutMs: number },
): Promise<void> {
  return runFfmpeg(ffmpegPath, spriteArgs(input, output, grid), options);
}
