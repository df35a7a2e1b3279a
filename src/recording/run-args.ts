import { OUTPUTS, type OutputSpec } from './outputs/index.js';
import type { Tracks } from './tracks.js';

/** Input ffmpeg reads before writing its outputs: enough for H.264 dimensions and AAC parameters. */
const INPUT_ANALYZE_MICROSECONDS = 200_000;

/**
 * ffmpeg arguments for one run: FLV on stdin, every output by stream copy, never re-encoded. `videoLeadMs`: how
 * far the first video frame trails the first media; ffmpeg reads that much more before writing, to see it.
 */
export function buildRunArgs(tracks: Tracks, specs: readonly OutputSpec[], videoLeadMs = 0): string[] {
  // The tracks are known from their sequence headers before ffmpeg starts, so it need not probe 5 s of
  // input (its default) before writing: media held there is lost if it is killed, and delays every file.
  const analyze = INPUT_ANALYZE_MICROSECONDS + Math.round(videoLeadMs * 1000);
  const input = ['-analyzeduration', String(analyze), '-f', 'flv', '-i', 'pipe:0'];
  const args = ['-hide_banner', '-nostats', '-loglevel', 'warning', ...input];
  for (const spec of specs) {
    const output = OUTPUTS[spec.format];
    args.push(...output.maps(tracks), '-c', 'copy', ...output.muxerArgs(spec, tracks));
  }
  return args;
}
