import { anyTrack, avMaps, remuxArgs, segmentMuxerArgs, type OutputFormat } from './format.js';

/** FLV: split by the segment muxer, then remuxed once closed to carry a keyframe index (seekable). */
export const flvOutput: OutputFormat = {
  format: 'flv',
  supports: anyTrack,
  maps: avMaps,
  pattern: 'flv_%05d.flv',
  muxerArgs(spec) {
    // Written through per packet: a file cut by a kill holds its media so far.
    return ['-segment_format_options', 'flush_packets=1', ...segmentMuxerArgs(spec, 'flv', this.pattern)];
  },
  // The segment muxer writes a broken keyframe index (lasttimestamp "inf"); a direct remux writes a good one.
  finalizeArgs: (input, output) => remuxArgs(input, output, 'flv', ['-flvflags', 'add_keyframe_index']),
};
