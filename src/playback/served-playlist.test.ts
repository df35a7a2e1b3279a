import { describe, expect, it } from 'vitest';
import { servedPlaylist } from './served-playlist.js';

const TS = [
  '#EXTM3U',
  '#EXT-X-VERSION:3',
  '#EXT-X-TARGETDURATION:4',
  '#EXT-X-MEDIA-SEQUENCE:0',
  '#EXT-X-PLAYLIST-TYPE:VOD',
  '#EXTINF:4.000000,',
  's_000000.ts',
  '#EXT-X-DISCONTINUITY',
  '#EXTINF:4.000000,',
  's_000001.ts',
  '#EXTINF:2.500000,',
  's_000002.ts',
  '#EXT-X-ENDLIST',
  '',
].join('\n');

const FMP4 = [
  '#EXTM3U',
  '#EXT-X-VERSION:6',
  '#EXT-X-TARGETDURATION:4',
  '#EXT-X-MAP:URI="s_000000.mp4",BYTERANGE="800@0"',
  '#EXTINF:4,',
  '#EXT-X-BYTERANGE:5000@800',
  's_000000.mp4',
  '#EXT-X-ENDLIST',
  '',
].join('\n');

const signed = (uri: string) => `${uri}?t=5e6f8a8c&us=ab&sign=00`;

describe('servedPlaylist', () => {
  it('rewrites every segment URI and keeps every other line as written', () => {
    const out = servedPlaylist(TS, { segmentUri: signed });
    expect(out).toBe(TS.replace(/(s_\d+\.ts)/g, '$1?t=5e6f8a8c&us=ab&sign=00'));
  });

  it('rewrites the fMP4 init section of EXT-X-MAP too', () => {
    const out = servedPlaylist(FMP4, { segmentUri: signed });
    expect(out).toContain('#EXT-X-MAP:URI="s_000000.mp4?t=5e6f8a8c&us=ab&sign=00",BYTERANGE="800@0"');
    expect(out).toContain('#EXT-X-BYTERANGE:5000@800\ns_000000.mp4?t=5e6f8a8c');
  });

  it.each([
    [3, ['s_000000.ts']],
    [4, ['s_000000.ts']],
    [5, ['s_000000.ts', 's_000001.ts']],
    [0, ['s_000000.ts', 's_000001.ts', 's_000002.ts']],
    [60, ['s_000000.ts', 's_000001.ts', 's_000002.ts']],
  ])('a preview of %i s keeps the segments that start within it, and ends', (seconds, kept) => {
    const out = servedPlaylist(TS, { segmentUri: (u) => u, previewSeconds: seconds });
    expect(out.split('\n').filter((l) => l.endsWith('.ts'))).toEqual(kept);
    expect(out.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(out.match(/#EXT-X-ENDLIST/g)).toHaveLength(1);
  });
});
