import { segmentMuxerArgs, type OutputFormat } from './format.js';

/** AAC: the audio track alone, as ADTS. */
export const aacOutput: OutputFormat = {
  format: 'aac',
  supports: (tracks) => {
    if (!tracks.audio) return 'the stream has no audio track';
    if (tracks.audio.codec !== 'aac') return `the audio codec is ${tracks.audio.codec}, not AAC`;
    return true;
  },
  maps: () => ['-map', '0:a:0'],
  pattern: 'aac_%05d.aac',
  muxerArgs(spec) {
    // Written through per packet: a file cut by a kill holds its media so far.
    return ['-segment_format_options', 'flush_packets=1', ...segmentMuxerArgs(spec, 'adts', this.pattern)];
  },
  finalizeArgs: () => null,
};
