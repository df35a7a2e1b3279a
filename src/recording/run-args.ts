import { OUTPUTS, type OutputSpec } from './outputs/index.js';
import type { Tracks } from './tracks.js';

/** ffmpeg arguments for one run: FLV on stdin, every output by stream copy, never re-encoded. */
export function buildRunArgs(tracks: Tracks, specs: readonly OutputSpec[]): string[] {
  const args = ['-hide_banner', '-nostats', '-loglevel', 'warning', '-f', 'flv', '-i', 'pipe:0'];
  for (const spec of specs) {
    const output = OUTPUTS[spec.format];
    args.push(...output.maps(tracks), '-c', 'copy', ...output.muxerArgs(spec));
  }
  return args;
}
