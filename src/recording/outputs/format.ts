import type { RecordFormat } from '../../config/schema.js';
import type { Tracks } from '../tracks.js';

/** Where and how one run writes one format's files before they are finalized. */
export interface OutputSpec {
  format: RecordFormat;
  /** Work directory of the run. */
  dir: string;
  /** Split length in seconds (HLS: the segment length). */
  segmentSeconds: number;
  /** Number of the run's first file (HLS continues numbering across runs). */
  startNumber: number;
}

/** One recorded format: how ffmpeg writes it during a run, and how a closed file becomes the stored one. */
export interface OutputFormat {
  readonly format: RecordFormat;
  /** Whether the publish's tracks can give this format; a reason when not. */
  supports(tracks: Tracks): true | string;
  /** Streams of the input this format takes. */
  maps(tracks: Tracks): string[];
  /** The ffmpeg segment-muxer options after `-map ... -c copy`. */
  muxerArgs(spec: OutputSpec, tracks: Tracks): string[];
  /** File name pattern ffmpeg writes in the work dir. */
  pattern: string;
  /** Stream-copy remux that turns a closed work file into the stored file, or null to store it as is. */
  finalizeArgs(input: string, output: string): string[] | null;
}

/** Segment-list CSV the run writes for a format: one `file,start,end` line per closed file. */
export function listFileName(format: RecordFormat): string {
  return `${format}.csv`;
}

/** Options common to every segment-muxer output. */
export function segmentMuxerArgs(spec: OutputSpec, containerFormat: string, pattern: string): string[] {
  return [
    '-f',
    'segment',
    '-segment_format',
    containerFormat,
    '-segment_time',
    String(spec.segmentSeconds),
    '-segment_start_number',
    String(spec.startNumber),
    '-segment_list',
    `${spec.dir}/${listFileName(spec.format)}`,
    '-segment_list_type',
    'csv',
  ].concat(spec.format === 'hls' ? [] : ['-reset_timestamps', '1'], [`${spec.dir}/${pattern}`]);
}

/** Containers that take whatever audio and video the stream has. */
export function anyTrack(tracks: Tracks): true | string {
  return tracks.audio || tracks.video ? true : 'the stream has no audio or video';
}

export function avMaps(tracks: Tracks): string[] {
  return [...(tracks.video ? ['-map', '0:v:0'] : []), ...(tracks.audio ? ['-map', '0:a:0'] : [])];
}

/** Stream-copy remux of a closed work file into its stored container. */
export function remuxArgs(input: string, output: string, container: string, options: string[]): string[] {
  return ['-i', input, '-map', '0', '-c', 'copy', ...options, '-f', container, output];
}

/** Matches exactly the names ffmpeg makes from a pattern like `mp4_%05d.mp4`. */
export function workFileRegExp(pattern: string): RegExp {
  const [before, after] = pattern.split(/%0\dd/);
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escape(before!)}\\d+${escape(after ?? '')}$`);
}

/** The name ffmpeg gives file `n` of a pattern like `mp4_%05d.mp4`. */
export function workFileName(pattern: string, n: number): string {
  return pattern.replace(/%0(\d)d/, (_, width: string) => String(n).padStart(Number(width), '0'));
}

/** The number ffmpeg gave a work file (`hls_000012.ts` is 12); 0 when the name has none. */
export function workFileNumber(name: string): number {
  return Number(/_(\d+)\.[a-z0-9]+$/.exec(name)?.[1] ?? 0);
}
