import { anyTrack, avMaps, segmentMuxerArgs, type OutputFormat } from './format.js';
import { readInitSectionLength } from './fmp4.js';
import type { Tracks } from '../tracks.js';

/** The segment container of a recording's HLS: MPEG-TS for H.264 and HEVC, fragmented MP4 for AV1. */
export type HlsSegmentKind = 'ts' | 'fmp4';

/**
 * MPEG-TS is what every HLS player and tool reads, and a TS segment cut by a crash holds its packets so far;
 * AV1 has no TS mapping players know, so it goes to fMP4 segments (RFC 8216 §3.3) instead (pure).
 */
export function hlsSegmentKind(tracks: Tracks): HlsSegmentKind {
  return tracks.video?.codec === 'av1' ? 'fmp4' : 'ts';
}

/** File extension of a stored segment. */
export function segmentExtension(kind: HlsSegmentKind): 'ts' | 'm4s' {
  return kind === 'fmp4' ? 'm4s' : 'ts';
}

/**
 * HLS: segments of about hlsSegmentSeconds; the recorder writes the playlist itself. The work files' names say
 * no container (`.seg`): the stored segment gets the extension of what it holds.
 */
export const hlsOutput: OutputFormat = {
  format: 'hls',
  supports: anyTrack,
  maps: avMaps,
  pattern: 'hls_%06d.seg',
  muxerArgs(spec, tracks) {
    if (hlsSegmentKind(tracks) === 'fmp4') {
      // Each segment is a whole fragmented MP4 (its own ftyp + moov, then a fragment per keyframe); the
      // playlist points at its init section and its fragments by byte range. frag_discont: each fragment's
      // decode time is the stream's own, running on across segments as the playlist's timeline needs
      // (without it every segment restarts at 0 behind an edit list, which HLS readers do not apply).
      const movflags = 'movflags=+frag_keyframe+empty_moov+delay_moov+default_base_moof+frag_discont';
      return ['-segment_format_options', movflags, ...segmentMuxerArgs(spec, 'mp4', this.pattern)];
    }
    // Each packet is written through at once: a segment cut by a crash of the whole box holds its media so far.
    return ['-segment_format_options', 'flush_packets=1', ...segmentMuxerArgs(spec, 'mpegts', this.pattern)];
  },
  finalizeArgs: () => null,
};

/** What a playlist names of a closed work segment besides its span: the stored extension, and fMP4's init. */
export async function segmentShape(
  path: string,
  size: number,
  tracks: Tracks | undefined,
): Promise<{ extension: 'ts' | 'm4s'; fmp4?: { initLength: number; size: number } }> {
  const kind = hlsSegmentKind(tracks ?? {});
  if (kind === 'ts') return { extension: 'ts' };
  const initLength = await readInitSectionLength(path);
  if (initLength === undefined || initLength >= size)
    throw new Error(`fMP4 segment ${path} has no init section followed by media`);
  return { extension: 'm4s', fmp4: { initLength, size } };
}
