import { OUTPUTS, type OutputSpec } from './outputs/index.js';
import type { Tracks } from './tracks.js';

/** Input ffmpeg reads before writing its outputs: enough for H.264 dimensions and AAC parameters. */
const INPUT_ANALYZE_MICROSECONDS = 200_000;

/** ffmpeg arguments for one run: FLV on stdin, every output by stream copy, never re-encoded. */
export function buildRunArgs(tracks: Tracks, specs: readonly OutputSpec[]): string[] {
  // The tracks are known from their sequence headers before ffmpeg starts, so it need not probe 5 s of
  // input (its default) before writing: media held there is lost if it is killed, and delays every file.
  const input = ['-analyzeduration', String(INPUT_ANALYZE_MICROSECONDS), '-f', 'flv', '-i', 'pipe:0'];
  const args = ['-hide_banner', '-nostats', '-loglevel', 'warning', ...input];
  for (const spec of specs) {
    const output = OUTPUTS[spec.format];
    args.push(...output.maps(tracks), '-c', 'copy', ...output.muxerArgs(spec));
  }
  return args;
}
