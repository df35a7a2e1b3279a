import HLS from 'hls-parser';

/** One closed segment of a recording's playlist. */
export interface PlaylistSegment {
  uri: string;
  /** Media sequence number; numbering continues across runs. */
  seq: number;
  durationSeconds: number;
  /** Wall-clock time of the segment's first media. */
  programDateTime: Date;
  /** First segment of a later run: the timeline restarts here. */
  discontinuity: boolean;
  /**
   * An fMP4 segment: the length of its own init section (ftyp + moov), and its size. The playlist maps that
   * init section and plays the bytes after it, so each segment file stays whole and self-contained.
   */
  fmp4?: { initLength: number; size: number };
  /** The segment file's SHA-256 (lowercase hex), taken when it was queued; unknown for segments of older versions. */
  sha256?: string;
}

/** An EXT-X-DATERANGE of a recording's playlist (a marker, a product push): its values are quoted-string safe. */
export interface PlaylistDateRange {
  id: string;
  classId: string;
  start: Date;
  /** `X-` attributes. */
  attributes: Record<string, string>;
}

/** Renders the playlist of a recording; `ended` adds EXT-X-ENDLIST and marks it VOD. */
export function renderPlaylist(
  segments: readonly PlaylistSegment[],
  ended: boolean,
  segmentSeconds: number,
  dateRanges: readonly PlaylistDateRange[] = [],
): string {
  const first = segments[0];
  const longest = Math.max(segmentSeconds, ...segments.map((s) => s.durationSeconds));
  const playlist = new HLS.types.MediaPlaylist({
    // EXT-X-MAP with a byte range in a media playlist needs version 6.
    version: segments.some((s) => s.fmp4) ? 6 : 3,
    targetDuration: Math.ceil(longest),
    mediaSequenceBase: first?.seq ?? 0,
    endlist: ended,
    dateRanges: dateRanges.map((d) => new HLS.types.DateRange({ ...d })),
    ...(ended ? { playlistType: 'VOD' as const } : { playlistType: 'EVENT' as const }),
    segments: segments.map(
      (s) =>
        new HLS.types.Segment({
          uri: s.uri,
          duration: Number(s.durationSeconds.toFixed(6)),
          mediaSequenceNumber: s.seq,
          discontinuity: s.discontinuity,
          programDateTime: s.programDateTime,
          ...(s.fmp4
            ? {
                map: new HLS.types.MediaInitializationSection({
                  uri: s.uri,
                  byterange: { length: s.fmp4.initLength, offset: 0 },
                }),
                byterange: { length: s.fmp4.size - s.fmp4.initLength, offset: s.fmp4.initLength },
              }
            : {}),
        }),
    ),
  });
  return HLS.stringify(playlist);
}

/** Parses a playlist written by renderPlaylist back into segments (for recovery and checks). */
export function parsePlaylist(text: string): { segments: PlaylistSegment[]; ended: boolean } {
  const parsed = HLS.parse(text);
  if (parsed.isMasterPlaylist) throw new Error('expected a media playlist');
  return {
    ended: parsed.endlist,
    segments: parsed.segments.map((s) => ({
      uri: s.uri,
      seq: s.mediaSequenceNumber,
      durationSeconds: s.duration,
      programDateTime: s.programDateTime ?? new Date(0),
      discontinuity: Boolean(s.discontinuity),
      ...(s.map?.byterange && s.byterange
        ? { fmp4: { initLength: s.map.byterange.length, size: s.byterange.offset + s.byterange.length } }
        : {}),
    })),
  };
}
