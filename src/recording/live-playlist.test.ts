import HLS from 'hls-parser';
import { describe, expect, it } from 'vitest';
import {
  LIVE_PLAYLIST_SEGMENTS,
  renderLivePlaylist,
  renderPlaylist,
  type PlaylistSegment,
} from './hls-playlist.js';

const T0 = Date.UTC(2026, 11, 2, 0, 0, 0);
const SEGMENT_SECONDS = 4;
const DAY = (24 * 3600) / SEGMENT_SECONDS;

/** A day of 4 s segments; the publisher dropped and came back every 6 hours (a discontinuity). */
function day(): PlaylistSegment[] {
  return Array.from({ length: DAY }, (_, i) => ({
    uri: `stream_2026-12-02-00-00-00_${String(i).padStart(6, '0')}.ts`,
    seq: i,
    durationSeconds: SEGMENT_SECONDS,
    programDateTime: new Date(T0 + i * SEGMENT_SECONDS * 1000 + Math.floor(i / 5400) * 30_000),
    discontinuity: i > 0 && i % 5400 === 0,
  }));
}

describe('the live playlist of a 24-hour recording', () => {
  it('writes the same few bytes with every segment, at the day’s end as in its first minute', () => {
    const segments = day();
    const list: PlaylistSegment[] = [];
    let largest = 0;
    let total = 0;
    for (const segment of segments) {
      list.push(segment);
      const bytes = Buffer.byteLength(renderLivePlaylist(list, SEGMENT_SECONDS));
      largest = Math.max(largest, bytes);
      total += bytes;
    }
    const firstFull = Buffer.byteLength(
      renderLivePlaylist(segments.slice(0, LIVE_PLAYLIST_SEGMENTS), SEGMENT_SECONDS),
    );
    // Bounded by the window, not the day: the first full window's, and a few header lines (sequence numbers).
    expect(largest).toBeLessThanOrEqual(firstFull + 128);
    expect(total / DAY).toBeLessThan(firstFull + 128);
    // What naming every segment, as before, would write at the day's end alone.
    expect(Buffer.byteLength(renderPlaylist(segments, false, SEGMENT_SECONDS))).toBeGreaterThan(
      1000 * largest,
    );
  });

  it.each([10, 5399, 5400, 5401, 5405, DAY - 1])(
    'after segment %i: the latest segments, none not yet stored, numbered and sequenced to follow on',
    (last) => {
      const segments = day().slice(0, last + 1);
      const text = renderLivePlaylist(segments, SEGMENT_SECONDS);
      const parsed = HLS.parse(text) as HLS.types.MediaPlaylist;
      const window = segments.slice(-LIVE_PLAYLIST_SEGMENTS);
      expect(parsed.segments.map((s) => s.uri)).toEqual(window.map((s) => s.uri));
      expect(parsed.mediaSequenceBase ?? 0).toBe(window[0]!.seq);
      expect(parsed.endlist).toBe(false);
      // A sliding playlist is neither EVENT nor VOD.
      expect(parsed.playlistType).toBeUndefined();
      // Discontinuities before the window are in its sequence number; those within are tagged.
      const before = segments
        .slice(0, segments.length - window.length + 1)
        .filter((s) => s.discontinuity).length;
      expect(parsed.discontinuitySequenceBase ?? 0).toBe(before);
      const tagged = window.slice(1).filter((s) => s.discontinuity).length;
      expect(parsed.segments.filter((s) => s.discontinuity).length).toBe(tagged);
      expect(parsed.segments.map((s) => s.programDateTime?.getTime())).toEqual(
        window.map((s) => s.programDateTime.getTime()),
      );
    },
  );
});
