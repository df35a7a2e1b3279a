/**
 * What a recording's thumbnails are (pure): a cover (its first keyframe) and scrub thumbnails, one every N
 * seconds, in one sprite sheet, with the WebVTT file players read to map a time to its tile.
 */
import type { SpriteGrid } from '../ffmpeg/thumbnails.js';

export { thumbnailKeys } from '../naming/names.js';

export const TILE_WIDTH = 160;
export const SPRITE_COLUMNS = 10;
export const COVER_WIDTH = 640;
// A sprite past this many tiles would be a very large image; the interval is stretched to stay within it.
export const MAX_TILES = 400;

/** The sprite of a media: its interval, tiles and grid; undefined when it is too short for a second tile. */
export function spriteGrid(
  durationSeconds: number,
  intervalSeconds: number,
  video: { width: number; height: number },
): (SpriteGrid & { tiles: number }) | undefined {
  if (!(intervalSeconds > 0) || !(durationSeconds > 0)) return undefined;
  let interval = intervalSeconds;
  let tiles = Math.ceil(durationSeconds / interval);
  if (tiles > MAX_TILES) {
    interval = Math.ceil(durationSeconds / MAX_TILES);
    tiles = Math.ceil(durationSeconds / interval);
  }
  const aspect = video.width > 0 && video.height > 0 ? video.height / video.width : 9 / 16;
  const tileHeight = Math.max(2, Math.round((TILE_WIDTH * aspect) / 2) * 2);
  const columns = Math.min(SPRITE_COLUMNS, tiles);
  return {
    intervalSeconds: interval,
    tiles,
    columns,
    rows: Math.ceil(tiles / columns),
    tileWidth: TILE_WIDTH,
    tileHeight,
  };
}

function vttTime(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (v: number, n = 2) => String(v).padStart(n, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/** The WebVTT that maps each interval of the media to its tile of `spriteName` (a URI beside the VTT). */
export function thumbnailsVtt(
  grid: SpriteGrid & { tiles: number },
  durationSeconds: number,
  spriteName: string,
): string {
  const cues = ['WEBVTT', ''];
  for (let i = 0; i < grid.tiles; i++) {
    const start = i * grid.intervalSeconds;
    const end = Math.min((i + 1) * grid.intervalSeconds, durationSeconds);
    const x = (i % grid.columns) * grid.tileWidth;
    const y = Math.floor(i / grid.columns) * grid.tileHeight;
    cues.push(`${vttTime(start)} --> ${vttTime(end)}`);
    cues.push(`${spriteName}#xywh=${x},${y},${grid.tileWidth},${grid.tileHeight}`, '');
  }
  return cues.join('\n');
}
