import { describe, expect, it } from 'vitest';
import { MAX_TILES, spriteGrid, thumbnailKeys, thumbnailsVtt } from './plan.js';

describe('thumbnail plan', () => {
  it('names the thumbnails after the media key, format included', () => {
    expect(thumbnailKeys('live/s1_2026-12-01-10-00-00_2026-12-01-10-05-00.mp4')).toEqual({
      cover: 'live/s1_2026-12-01-10-00-00_2026-12-01-10-05-00.mp4.jpg',
      sprite: 'live/s1_2026-12-01-10-00-00_2026-12-01-10-05-00.mp4.sprite.jpg',
      vtt: 'live/s1_2026-12-01-10-00-00_2026-12-01-10-05-00.mp4.vtt',
    });
  });

  it.each([
    [
      95,
      10,
      { width: 1280, height: 720 },
      { intervalSeconds: 10, tiles: 10, columns: 10, rows: 1, tileHeight: 90 },
    ],
    [
      3600,
      10,
      { width: 640, height: 480 },
      { intervalSeconds: 10, tiles: 360, columns: 10, rows: 36, tileHeight: 120 },
    ],
    [
      12,
      2,
      { width: 320, height: 180 },
      { intervalSeconds: 2, tiles: 6, columns: 6, rows: 1, tileHeight: 90 },
    ],
    [
      7200,
      10,
      { width: 0, height: 0 },
      { intervalSeconds: 18, tiles: 400, columns: 10, rows: 40, tileHeight: 90 },
    ],
  ])('%i s every %i s of %j', (duration, interval, video, expected) => {
    expect(spriteGrid(duration, interval, video)).toMatchObject({ ...expected, tileWidth: 160 });
  });

  it('no sprite when turned off or for no media', () => {
    expect(spriteGrid(100, 0, { width: 1, height: 1 })).toBeUndefined();
    expect(spriteGrid(0, 10, { width: 1, height: 1 })).toBeUndefined();
  });

  it('stays within MAX_TILES however long the media', () => {
    expect(spriteGrid(86_400, 10, { width: 16, height: 9 })!.tiles).toBeLessThanOrEqual(MAX_TILES);
  });

  it('writes a cue per tile, covering the media to its end, each pointing at its region', () => {
    const grid = spriteGrid(25, 10, { width: 1280, height: 720 })!;
    expect(thumbnailsVtt(grid, 25, 'x.mp4.sprite.jpg')).toBe(
      [
        'WEBVTT',
        '',
        '00:00:00.000 --> 00:00:10.000',
        'x.mp4.sprite.jpg#xywh=0,0,160,90',
        '',
        '00:00:10.000 --> 00:00:20.000',
        'x.mp4.sprite.jpg#xywh=160,0,160,90',
        '',
        '00:00:20.000 --> 00:00:25.000',
        'x.mp4.sprite.jpg#xywh=320,0,160,90',
        '',
      ].join('\n'),
    );
  });
});
