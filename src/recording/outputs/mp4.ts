import { anyTrack, avMaps, remuxArgs, segmentMuxerArgs, type OutputFormat } from './format.js';

/**
 * MP4: fragmented while recording so a killed ffmpeg still leaves a playable file, at each keyframe and at
 * least every second (a kill loses at most the fragment in progress); faststart once closed.
 */
export const mp4Output: OutputFormat = {
  format: 'mp4',
  supports: anyTrack,
  // HEVC as `hvc1` (parameter sets in the sample entry), the tag Apple's players require.
  maps: (tracks) => [...avMaps(tracks), ...(tracks.video?.codec === 'h265' ? ['-tag:v', 'hvc1'] : [])],
  pattern: 'mp4_%05d.mp4',
  muxerArgs(spec) {
    return [
      '-segment_format_options',
      'movflags=+frag_keyframe+empty_moov+delay_moov+default_base_moof:frag_duration=1000000',
      ...segmentMuxerArgs(spec, 'mp4', this.pattern),
    ];
  },
  finalizeArgs: (input, output) => remuxArgs(input, output, 'mp4', ['-movflags', '+faststart']),
};
