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

/** Segments the stored live playlist names: the latest ones (the console's preview, a player joining live). */
export const LIVE_PLAYLIST_SEGMENTS = 15;

/** Renders the playlist of a recording; `ended` adds EXT-X-ENDLIST and marks it VOD. */
export function renderPlaylist(
  segments: readonly PlaylistSegment[],
  ended: boolean,
  segmentSeconds: number,
  dateRanges: readonly PlaylistDateRange[] = [],
): string {
  // Not Math.max(...list): a week of segments is more arguments than a call takes.
  const longest = segments.reduce((m, s) => Math.max(m, s.durationSeconds), segmentSeconds);
  return render(segments, {
    targetSeconds: longest,
    ended,
    dateRanges,
    ...(ended ? { playlistType: 'VOD' as const } : { playlistType: 'EVENT' as const }),
  });
}

/**
 * The live playlist while a recording goes on (pure): its latest `size` segments only, so each segment's upload
 * writes a playlist of the same size however long the recording has run, not one that grows with it (a day of
 * 4 s segments would otherwise write 21,600 entries with every segment). The whole list is the recording's
 * journal's (and, in a cluster, the ledger's); the final playlist names every segment. `targetSeconds`: the
 * longest segment so far, which a live playlist's target duration may not drop below between reloads.
 */
export function renderLivePlaylist(
  segments: readonly PlaylistSegment[],
  targetSeconds: number,
  size = LIVE_PLAYLIST_SEGMENTS,
): string {
  const from = Math.max(0, segments.length - size);
  const window = segments.slice(from);
  let discontinuities = 0;
  for (let i = 0; i < from; i++) if (segments[i]!.discontinuity) discontinuities++;
  // A discontinuity before the window's first segment is counted in the sequence, not tagged on it.
  if (window[0]?.discontinuity && from > 0) discontinuities++;
  const shown =
    from > 0 && window[0]?.discontinuity
      ? [{ ...window[0], discontinuity: false }, ...window.slice(1)]
      : window;
  return render(shown, {
    targetSeconds,
    ended: false,
    discontinuitySequence: discontinuities,
    dateRanges: [],
  });
}

function render(
  segments: readonly PlaylistSegment[],
  o: {
    targetSeconds: number;
    ended: boolean;
    playlistType?: 'VOD' | 'EVENT';
    discontinuitySequence?: number;
    dateRanges: readonly PlaylistDateRange[];
  },
): string {
  const first = segments[0];
  const playlist = new HLS.types.MediaPlaylist({
    // EXT-X-MAP with a byte range in a media playlist needs version 6.
    version: segments.some((s) => s.fmp4) ? 6 : 3,
    targetDuration: Math.ceil(o.targetSeconds),
    mediaSequenceBase: first?.seq ?? 0,
    ...(o.discontinuitySequence ? { discontinuitySequenceBase: o.discontinuitySequence } : {}),
    endlist: o.ended,
    dateRanges: o.dateRanges.map((d) => new HLS.types.DateRange({ ...d })),
    ...(o.playlistType ? { playlistType: o.playlistType } : {}),
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
