import { describe, expect, it } from 'vitest';
import { splitFormats } from './run-engine.js';
import type { Tracks } from './tracks.js';

const AV: Tracks = { video: { codec: 'h264' }, audio: { codec: 'aac' } };

describe('splitFormats', () => {
  it.each([
    ['ffmpeg', ['hls', 'flv', 'mp4', 'aac'], AV, { native: [], ffmpeg: ['hls', 'flv', 'mp4', 'aac'] }],
    ['native', ['hls', 'flv', 'aac'], AV, { native: ['hls', 'flv', 'aac'], ffmpeg: [] }],
    ['native', ['hls', 'mp4'], AV, { native: ['hls', 'mp4'], ffmpeg: [] }],
    [
      'native',
      ['hls', 'mp4'],
      { video: { codec: 'h265' }, audio: { codec: 'mp3' } },
      { native: ['hls'], ffmpeg: ['mp4'], reason: 'the native engine does not write mp4 with mp3 audio' },
    ],
    ['native', ['mp4', 'flv'], { video: { codec: 'h265' } }, { native: ['mp4', 'flv'], ffmpeg: [] }],
    ['native', ['hls', 'aac'], { audio: { codec: 'aac' } }, { native: ['hls', 'aac'], ffmpeg: [] }],
    [
      'native',
      ['hls', 'flv'],
      { video: { codec: 'av1' }, audio: { codec: 'opus' } },
      { native: [], ffmpeg: ['hls', 'flv'], reason: 'the native engine does not carry av1 video' },
    ],
    [
      'native',
      ['hls'],
      { video: { codec: 'h264' }, audio: { codec: 'opus' } },
      { native: [], ffmpeg: ['hls'], reason: 'the native engine does not carry opus audio' },
    ],
  ] as const)('%s engine, %j of %j', (engine, formats, tracks, expected) => {
    expect(splitFormats(engine, formats, tracks)).toEqual(expected);
  });
});
