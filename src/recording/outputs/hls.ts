import { anyTrack, avMaps, segmentMuxerArgs, type OutputFormat } from './format.js';
import type { Tracks } from '../tracks.js';

/** HLS: MPEG-TS segments of about hlsSegmentSeconds; the recorder writes the playlist itself. */
export const hlsOutput: OutputFormat = {
  format: 'hls',
  // MPEG-TS carries H.264 and HEVC; AV1 in TS is too new for players, so it goes to MP4 (and FLV) only.
  supports: (tracks: Tracks) =>
    tracks.video?.codec === 'av1'
      ? 'AV1 is not recorded to HLS (MPEG-TS segments); record it to MP4'
      : anyTrack(tracks),
  maps: avMaps,
  pattern: 'hls_%06d.ts',
  muxerArgs(spec) {
    // Each packet is written through at once: a segment cut by a crash of the whole box holds its media so far.
    return ['-segment_format_options', 'flush_packets=1', ...segmentMuxerArgs(spec, 'mpegts', this.pattern)];
  },
  finalizeArgs: () => null,
};
