import { anyTrack, avMaps, segmentMuxerArgs, type OutputFormat } from './format.js';

/** HLS: MPEG-TS segments of about hlsSegmentSeconds; the recorder writes the playlist itself. */
export const hlsOutput: OutputFormat = {
  format: 'hls',
  supports: anyTrack,
  maps: avMaps,
  pattern: 'hls_%06d.ts',
  muxerArgs(spec) {
    // Each packet is written through at once: a segment cut by a crash of the whole box holds its media so far.
    return ['-segment_format_options', 'flush_packets=1', ...segmentMuxerArgs(spec, 'mpegts', this.pattern)];
  },
  finalizeArgs: () => null,
};
