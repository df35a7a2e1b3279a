import { anyTrack, avMaps, segmentMuxerArgs, type OutputFormat } from './format.js';

/** HLS: MPEG-TS segments of about hlsSegmentSeconds; the recorder writes the playlist itself. */
export const hlsOutput: OutputFormat = {
  format: 'hls',
  supports: anyTrack,
  maps: avMaps,
  pattern: 'hls_%06d.ts',
  muxerArgs(spec) {
    return segmentMuxerArgs(spec, 'mpegts', this.pattern);
  },
  finalizeArgs: () => null,
};
